"""tests/lesson_cells.py: a cell may be left out of an other-model run only where the source proves it cannot see that
model and no remaining cell reads what it binds. Checked on small hand-built notebooks, and on the shipped lessons'
tags (a static check: no kernel)."""
from pathlib import Path

import nbformat
import pytest

from lesson_cells import independent_cells

IMAGE = "same-for-any-image-model"
ROOT = Path(__file__).resolve().parents[2]


def cells(*sources):
    """Code cells; a source starting with '#tag' carries the image tag."""
    out = []
    for source in sources:
        cell = nbformat.v4.new_code_cell(source)
        if source.startswith("#tag"):
            cell.metadata["tags"] = [IMAGE]
        out.append(cell)
    return out


def test_a_section_that_never_sees_the_model_may_be_left_out():
    notebook = cells("import xai_helpers as xh\nimage_model = xh.load_image_model()\nx = image_model.preprocess('cat')",
                     "#tag\ngt = xh.evaluation.groundtruth\nscenes = gt.digit_scenes(8)\nfor s in scenes:\n    s.show()",
                     "#tag\ntable = [len(s) for s in scenes]",
                     "print(x.shape)")
    assert independent_cells(notebook, IMAGE) == [1, 2]


@pytest.mark.parametrize("source, name", [
    ("#tag\nprint(image_model)", "image_model"),
    ("#tag\nprint(x.mean())", "x"),                                   # derived from the model one cell earlier
    ("#tag\nexplorer = xh.explore_image('cat')", "a loader of the model"),   # the loader reads XAI_IMAGE_MODEL
    ("#tag\ndef f():\n    return x\nf()", "x"),                        # a function reads the model's value when called
    ("#tag\nrows.append(1)", "rows"),                                 # changes an object that holds the model's maps
])
def test_a_tagged_cell_that_could_see_the_model_is_refused(source, name):
    notebook = cells("import xai_helpers as xh\nimage_model = xh.load_image_model()\nx = image_model.preprocess('cat')\n"
                     "rows = [x]", source)
    with pytest.raises(AssertionError, match=name):
        independent_cells(notebook, IMAGE)


def test_a_cell_that_stays_may_not_read_what_only_left_out_cells_bind():
    notebook = cells("import xai_helpers as xh", "#tag\nscores = [1, 2]", "print(scores)")
    with pytest.raises(AssertionError, match=r"cell 2 reads \['scores'\]"):
        independent_cells(notebook, IMAGE)
    rebound = cells("import xai_helpers as xh", "#tag\nscores = [1, 2]", "scores = [3]\nprint(scores)")
    assert independent_cells(rebound, IMAGE) == [1]


def test_a_name_bound_anew_from_clean_values_is_clean_and_a_named_loader_is_fixed():
    notebook = cells("import xai_helpers as xh\nimage_model = xh.load_image_model()\nx = image_model.preprocess('cat')",
                     "x = 3\nfixed = xh.load_image_model('resnet18')",
                     "#tag\nprint(x + 1, fixed)",
                     "ev = xh.evaluation\nev.faithfulness(image_model)",   # a module's call changes no lesson data
                     "#tag\nev.random_map(None, None)")
    assert independent_cells(notebook, IMAGE) == [2, 4]


@pytest.mark.parametrize("lesson, tag", [("4.5_end_to_end.ipynb", IMAGE),
                                         ("4.4a_attention_text.ipynb", "same-for-any-text-model")])
def test_the_lessons_tagged_cells_pass_the_check(lesson, tag):
    notebook = nbformat.read(ROOT / "notebooks" / lesson, as_version=4)
    assert len(independent_cells(notebook.cells, tag)) >= 5


def test_without_drops_the_matching_cells_and_what_depends_on_them():
    from lesson_cells import without
    notebook = cells("import numpy as np", "corpus = load_corpus()", "stats = np.mean(corpus)", "x = 1",
                     "print(stats)", "stats = 2\nprint(stats, x)")
    kept = without(notebook, lambda cell: "load_corpus(" in cell.source)
    assert [c.source for c in kept] == ["import numpy as np", "x = 1", "stats = 2\nprint(stats, x)"]
