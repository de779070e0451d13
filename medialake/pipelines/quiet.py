"""How much of Ray's own output a run shows: none by default, all of it with ``--verbose``.

medialake draws its own progress (:mod:`medialake.jobs.progress`), so by default Ray's
internals stay in Ray's log files (``/tmp/ray/session_latest/logs``): no execution plan,
no Ray Data progress bars or tips, no worker output forwarded to the driver, only errors
from Ray's Python loggers. Everything here uses Ray's own switches: ``ray.init``'s
``log_to_driver`` and ``logging_level``, ``DataContext.enable_progress_bars`` and
``print_on_execution_start``, and the level of the console handler that Ray Data's
logging config puts on the ``ray.data`` logger (its file handler keeps everything).

``MEDIALAKE_VERBOSE=1`` (what ``--verbose`` sets) shows Ray's output as Ray would.
"""

from __future__ import annotations

import logging
import os


def verbose() -> bool:
    """Whether Ray's own output is wanted (``MEDIALAKE_VERBOSE`` set to 1)."""
    return os.environ.get("MEDIALAKE_VERBOSE", "0") not in ("", "0", "false", "no")


def init_options() -> dict:
    """``ray.init`` keyword arguments for the output wanted."""
    if verbose():
        return {"log_to_driver": True, "logging_level": logging.INFO}
    return {"log_to_driver": False, "logging_level": logging.ERROR}


def quiet_data(ctx) -> None:
    """Ray Data's console output for the output wanted: off unless verbose (or
    ``MEDIALAKE_PROGRESS=ray``, which keeps Ray Data's own progress bars)."""
    loud = verbose()
    ctx.enable_progress_bars = loud or os.environ.get("MEDIALAKE_PROGRESS") == "ray"
    ctx.print_on_execution_start = loud
    level = logging.INFO if loud else logging.ERROR
    for handler in logging.getLogger("ray.data").handlers:
        if not isinstance(handler, logging.FileHandler) and type(handler).__name__ != "SessionFileHandler":
            handler.setLevel(level)
