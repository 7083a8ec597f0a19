# The course's two commands:  make lab  (open the course)  and  make test  (run every test).
# Both create the virtual environment .venv on first use (pip, PyPI only; ~7 GB, a few minutes).
# Versions: pyproject.toml names the dependencies (lower bounds), requirements/pins.txt fixes them (constraints).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
PINS   := requirements/pins.txt
PYTEST := tools/offline.sh $(BIN)/python -m pytest

.PHONY: lab test unit integration system notebooks exercises html bench hub clean-venv

$(STAMP): pyproject.toml $(PINS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c $(PINS) -e ".[lab,test,site]"
	touch $(STAMP)

lab: $(STAMP)  ## open the course in JupyterLab
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

# Two workers, one thread each: a file (a notebook's cells) stays on one worker; two cores are shared without
# oversubscribing them (torch's default of two threads per process collapses when the cores are busy). Files go
# out in collection order, slowest tier first (tests/tier_folders.py), not xdist's default of most tests first.
test: $(STAMP)  ## every tier: unit + integration + system (notebooks by nbval, browser, packaging), offline
	tools/ensure_chromium.sh >/dev/null || echo "make test: Chromium unavailable; the browser tests will be skipped"
	tools/ensure_axe.sh >/dev/null || echo "make test: axe-core unavailable; the site's accessibility audit will be skipped"
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(PYTEST) -n 2 --dist loadfile --no-loadscope-reorder tests notebooks solutions exercises \
		--nbval-lax --nbval-current-env --durations=15

# The tiers are folders (tests/unit, tests/integration, tests/system; tests/tier_folders.py): each target
# collects only its own, so make unit imports no test module of the slower tiers.
unit: $(STAMP)  ## the fast tier only (~2 min on 2 cores): small hand-built inputs, no pretrained model
	$(PYTEST) tests/unit -q --durations=5

integration: $(STAMP)  ## tests that load or train a pretrained/catalog model
	$(PYTEST) tests/integration -q --durations=10

system: $(STAMP)  ## notebooks (nbval), browser, network namespace, subprocesses, packaging
	tools/ensure_axe.sh >/dev/null || echo "make system: axe-core unavailable; the site's accessibility audit will be skipped"
	$(PYTEST) tests/system notebooks solutions exercises --nbval-lax --nbval-current-env -q --durations=10

exercises: $(STAMP)  ## regenerate exercises/ from solutions/
	$(BIN)/python tools/make_exercises.py

html: $(STAMP)  ## execute the course and build the site under build/html (Jupyter Book, offline)
	tools/offline.sh $(BIN)/python tools/build_html.py $(HTML_ARGS)

# A local classroom on this machine (as root; tools/hub/classroom.py, README "For teachers"): JupyterHub on
# http://127.0.0.1:8000 with the teacher xai-teacher and learners xai-learner1..N (real Unix users, each server under
# its own uid), shared password $$XAI_HUB_PASSWORD (default xai-course), nbgrader's exchange for the course; offline.
# Not under tools/offline.sh: a browser outside a network namespace could not reach it. HUB_ARGS="--learners 8".
hub: $(STAMP)  ## start the local JupyterHub classroom (teacher + 3 learners; Ctrl-C stops it)
	$(BIN)/python tools/hub/classroom.py $(HUB_ARGS)

bench: $(STAMP)  ## performance benchmark: prints its tables and writes bench/RESULTS.md (~30 min)
	$(BIN)/python bench/run.py $(BENCH_ARGS)

clean-venv:
	rm -rf $(VENV)
