"""Read-time merge of a cached home timeline with the celebrities' lists."""

from __future__ import annotations

from timeline.merge import merge_timelines, parse_celebrities, render_celebrities


def test_newest_first_across_lists():
    """Ids from every list come out largest (newest) first."""
    assert merge_timelines([[9, 5, 1], [8, 7], [6]], 10) == [9, 8, 7, 6, 5, 1]


def test_cut_to_limit():
    """Only the ``limit`` newest ids are kept."""
    assert merge_timelines([[9, 5, 1], [8, 7]], 3) == [9, 8, 7]


def test_duplicates_appear_once():
    """An id in two lists (a replayed fan-out, a warm-up) is returned once."""
    assert merge_timelines([[9, 7, 3], [9, 3], [7]], 10) == [9, 7, 3]


def test_unsorted_inputs_are_merged_correctly():
    """Inputs need not be sorted: the merge does not rely on their order."""
    assert merge_timelines([[1, 9], [5, 7]], 3) == [9, 7, 5]


def test_empty_inputs_and_zero_limit():
    """No lists, empty lists or a zero limit give an empty timeline."""
    assert merge_timelines([], 5) == []
    assert merge_timelines([[], []], 5) == []
    assert merge_timelines([[3, 2]], 0) == []


def test_celebrity_list_round_trips():
    """The celebrities stored beside a timeline read back sorted and without repeats."""
    stored = render_celebrities([7, 3, 7])
    assert stored == "3,7"
    assert parse_celebrities(stored) == [3, 7]
    assert parse_celebrities(stored.encode()) == [3, 7]


def test_no_celebrities_is_an_empty_string():
    """A user following no celebrity stores "" (the marker still says "warm")."""
    assert render_celebrities([]) == ""
    assert parse_celebrities("") == []
