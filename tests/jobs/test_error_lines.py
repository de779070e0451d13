"""The one line ``medialake`` prints for storage and Ray failures met during a run."""

import pytest

from medialake.jobs.checks import error_line


@pytest.mark.parametrize("exc, expect", [
    (OSError("LanceError(IO): Unable to copy data to file: No space left on device (os error 28)"), "the disk is full"),
    (OSError("LanceError(IO): Unable to open file x.txn: Read-only file system (os error 30)"), "is read-only"),
    (OSError("LanceError(IO): Unable to open file x.txn: Permission denied (os error 13)"), "permission denied"),
])
def test_storage_errors_from_lance_text(exc, expect):
    line = error_line(exc, "/data/lake.lance")
    assert expect in line and "/data/lake.lance" in line and "again" in line


def test_ray_losing_its_node_is_one_line():
    from ray.exceptions import RaySystemError

    line = error_line(RaySystemError("The raylet died unexpectedly\nlong trace"))
    assert line.startswith("Ray stopped under the run") and "again" in line and "\n" not in line


def test_a_pool_that_cannot_start_says_which_resources_are_missing():
    from ray.exceptions import GetTimeoutError

    line = error_line(GetTimeoutError("Timed out while starting actors. This may mean that the cluster does not "
                                      "have enough resources for the requested actor pool."))
    assert "did not start in time" in line and "resources" in line and "Ray stopped" not in line


def test_other_errors_keep_their_first_line():
    assert error_line(ValueError("odd\nmore")).startswith("ValueError: odd (run again with --verbose")
