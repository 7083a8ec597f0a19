# The course's two commands:  make lab  (open the course)  and  make test  (run every test).
# Both create the virtual environment .venv on first use (pip, PyPI only; ~7 GB, a few minutes).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp

.PHONY: lab test unit notebooks exercises html bench clean-venv

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	touch $(STAMP)

lab: $(STAMP)  ## open the course in JupyterLab
	$(BIN)/jupyter lab --notebook-dir=. $(if $(filter 0,$(shell id -u)),--allow-root) --ServerApp.default_url=/lab/tree/notebooks $(LAB_ARGS)

test: $(STAMP)  ## unit tests + execute every notebook (nbval), offline
	tools/ensure_chromium.sh >/dev/null || echo "make test: Chromium unavailable; the browser tests will be skipped"
	tools/offline.sh $(BIN)/python -m pytest tests notebooks solutions exercises --nbval-lax --nbval-current-env --durations=15

unit: $(STAMP)  ## unit tests only
	tools/offline.sh $(BIN)/python -m pytest tests

exercises: $(STAMP)  ## regenerate exercises/ from solutions/
	$(BIN)/python tools/make_exercises.py

html: $(STAMP)  ## execute the course and render static HTML pages under build/html
	$(BIN)/python tools/build_html.py

bench: $(STAMP)  ## performance benchmark, writes a table to stdout
	$(BIN)/python bench/run.py

clean-venv:
	rm -rf $(VENV)
