"""The argument-kind check of public functions (xai_helpers/_typecheck.py): what it accepts and refuses."""
from typing import Callable, Literal, Sequence

import numpy as np
import pytest
import torch
from matplotlib.axes import Axes

from xai_helpers._typecheck import checked, describe, matches



@checked
def _example(x: torch.Tensor, tokens: Sequence[str], ax: Axes | None = None, mode: Literal["black", "blur"] = "black",
             n: int = 3, noise: float = 0.1, fn: Callable | None = None, maps: dict[str, torch.Tensor] | None = None,
             box: tuple[int, int, int, int] = (0, 0, 1, 1)):
    return "called"


def _call(**changes):
    args = dict(x=torch.zeros(1), tokens=["a", "b"])
    args.update(changes)
    return _example(**args)


def test_valid_values_pass_including_numpy_numbers_and_ints_for_floats():
    assert _call(n=np.int64(4), noise=1, fn=len, maps={"a": torch.zeros(2)}, mode="blur", box=(1, 2, 3, 4),
                 tokens=("a",)) == "called"


@pytest.mark.parametrize("changes, message", [
    (dict(x="cat"), "_example: x must be a torch Tensor; got str 'cat'."),
    (dict(tokens="abc"), "_example: tokens must be a sequence of strings; got str 'abc'."),
    (dict(tokens=[1, 2]), "_example: tokens must be a sequence of strings; got a list."),
    (dict(ax=torch.zeros(2)), "_example: ax must be a matplotlib Axes or None; got a torch Tensor of shape (2,)."),
    (dict(mode="grey"), "_example: mode must be one of 'black', 'blur'; got str 'grey'."),
    (dict(n=True), "_example: n must be an integer; got True."),
    (dict(n=2.5), "_example: n must be an integer; got float 2.5."),
    (dict(noise="a"), "_example: noise must be a number; got str 'a'."),
    (dict(fn=3), "_example: fn must be a function (a callable) or None; got int 3."),
    (dict(maps={"a": 1}), "_example: maps must be a dict with strings as keys and torch Tensors as values or None; "
                          "got a dict."),
    (dict(box=(1, 2, 3)), "_example: box must be a tuple of 4 integers; got a tuple."),
])
def test_a_wrong_kind_gets_a_type_error_naming_the_argument_and_the_expected_kind(changes, message):
    with pytest.raises(TypeError) as err:
        _call(**changes)
    assert str(err.value) == message


def test_an_unknown_keyword_gets_one_message_with_the_signature():
    with pytest.raises(TypeError, match=r"_example\(\): got an unexpected keyword argument 'bogus'\. Its arguments: "
                                        r"\(x: .*tokens"):
        _call(bogus=1)


def test_the_wrapped_function_keeps_its_name_docs_and_signature():
    assert _example.__name__ == "_example" and list(__import__("inspect").signature(_example).parameters)[:2] == [
        "x", "tokens"]


@pytest.mark.parametrize("value, hint, expected", [
    (True, int, False), (np.bool_(True), bool, True), (3, float, True), (None, int | None, True),
    ("a", Sequence[str], False), (["a"], list[str], True), ({"a": 1}, dict, True), (len, Callable, True),
])
def test_matches(value, hint, expected):
    assert matches(value, hint) is expected


def test_describe_reads_as_words():
    assert describe(torch.Tensor | None) == "a torch Tensor or None"
    assert describe(list[int]) == "a list of integers"
