"""A window's structural brackets, found column-wise without the state of the windows before it."""

from __future__ import annotations

from mrf_assets.tic.fast.brackets import classify


def test_brackets_inside_strings_are_not_structural():
    first, quotes, trailing, candidates = classify(memoryview(b'{"a": "[{\\"}", "b": [1, {"c": 2}]}'))
    where, chars, level, low, change = candidates[0]  # the window starts outside a string
    assert bytes(chars.to_list()) == b"{[{}]}" and level.to_list() == [0, 1, 2, 2, 1, 0]
    assert (first, quotes % 2, trailing, low, change) == (ord("{"), 0, 0, 0, 0)


def test_a_window_that_starts_inside_a_string_takes_the_other_parity():
    first, quotes, trailing, candidates = classify(memoryview(b'x]", "k": [1]}'))
    where, chars, level, low, change = candidates[1]  # one real quote closes the string it starts in
    assert bytes(chars.to_list()) == b"[]}" and where.to_list() == [10, 12, 13]
    assert low == -1 and change == -1  # it closes one container more than it opens
    assert bytes(candidates[0][1].to_list()) == b"]"  # read as outside a string, only the "]" in it


def test_backslashes_carried_from_the_window_before_escape_its_first_quote():
    _, quotes, _, _ = classify(memoryview(b'"]'), carry=1)
    assert quotes == 0
    _, quotes, trailing, _ = classify(memoryview(b'"a\\\\\\'), carry=0)
    assert quotes == 1 and trailing == 3  # three backslashes end the window: the next one carries them
