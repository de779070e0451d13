import pytest

from medialake.operators.chunk import windows


def test_fixed_windows_cover_the_timeline():
    assert windows(25, 10) == [(0.0, 10.0), (10.0, 20.0), (20.0, 25.0)]


def test_overlapping_windows_step_by_window_minus_overlap():
    w = windows(20, 10, overlap_s=2)
    assert [s for s, _ in w] == [0.0, 8.0, 16.0]
    assert w[-1][1] == 20.0


def test_tiny_tail_is_folded_into_previous_window():
    assert windows(20.2, 10) == [(0.0, 10.0), (10.0, 20.2)]


@pytest.mark.parametrize("duration", [0, -1])
def test_no_windows_for_empty_media(duration):
    assert windows(duration, 10) == []
