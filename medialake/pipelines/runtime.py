"""Start or join Ray, with the settings that make local runs quiet and safe."""

from __future__ import annotations

import os
import warnings

from medialake.errors import ConfigError


def ensure_ray(address: str | None = None, num_cpus: int | None = None):
    """Join the Ray cluster at ``address`` ('auto', 'ray://host:port'), or start a local one.

    Local runs disable Ray's token auth and usage stats, and the dashboard; the local node
    offers the custom resources of :mod:`medialake.pipelines.adapter` (``decode``, ``models``).
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray starts its daemons with fork+exec after LanceDB is loaded; the child execs at once,
    # so LanceDB's warning about state shared across fork does not apply.
    warnings.filterwarnings("ignore", message="lancedb fork support is experimental")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import ray

    from medialake.pipelines import monitor, quiet

    if ray.is_initialized():
        return ray
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if address:
        # The cluster runs this driver's medialake code: the package travels in the runtime env,
        # unless this driver is a Ray job (``medialake submit``) whose runtime env brought it.
        env = {"env_vars": {"RAY_AUTH_MODE": "disabled"}, "py_modules": [os.path.join(pkg_root, "medialake")]}
        try:
            ray.init(address=address, runtime_env=env, **quiet.init_options())
        except ValueError as e:
            if "runtime env" not in str(e):
                raise
            ray.init(address=address, **quiet.init_options())
    else:
        pp = os.environ.get("PYTHONPATH", "")
        if pkg_root not in pp.split(os.pathsep):
            os.environ["PYTHONPATH"] = pkg_root + (os.pathsep + pp if pp else "")
        from medialake.pipelines.adapter import DECODE_RESOURCE, MODELS_RESOURCE

        # one machine is a decode node and a model node: a config that places work by
        # these resources (cluster_config.yaml) runs here too
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                 resources={DECODE_RESOURCE: 1.0, MODELS_RESOURCE: 1.0}, **quiet.init_options())
    ctx = ray.data.DataContext.get_current()
    quiet.quiet_data(ctx)  # Ray's own output only with --verbose (medialake.pipelines.quiet)
    monitor.install(ctx)  # the slowest stage, for the progress line
    tune_data_context(ctx)
    return ray


#: Ray Data settings chosen with ``benchmarks/ingest_bench.py`` (README, "Tuning").
#: Each can be overridden per run with an environment variable of the same name in
#: upper case prefixed by ``MEDIALAKE_``, e.g. ``MEDIALAKE_MAX_TASKS_IN_FLIGHT_PER_ACTOR=4``.
DATA_CONTEXT_DEFAULTS: dict[str, int] = {
    # A model task runs for seconds (a Whisper window); with Ray's default of 4 batches
    # queued per actor, the last batches pile up behind one actor while the others idle.
    # 2 keeps one batch prefetched and spreads the tail over the pool.
    "max_tasks_in_flight_per_actor": 2,
    # Segment rows carry 10 s of float32 PCM (640 KB); one long file's segments would make
    # one block of hundreds of MB. Smaller blocks move sooner and balance across actors.
    "target_max_block_size": 16 * 1024 * 1024,
    # Seconds each actor pool may take to start before the run fails (Ray's -1: no wait).
    # With a wait, Ray Data starts the pools one after another and feeds the stream once
    # they are up; without one, the ASR actors (up in 1 s) took the first audio while the
    # OCR+text actor still loaded torch and MiniLM on the same 2 cores, and every asset
    # waits for that actor. ingest_bench's corpus (benchmarks/ingest_bench.py): first commit
    # 12.3-14.7 -> 9.0-9.5 s into a 44-46 s run, the run's wall the same within 1 s. Long
    # enough for an autoscaler to bring up a GPU node.
    "wait_for_min_actors_s": 1800,
}


def tune_data_context(ctx=None):
    """Apply :data:`DATA_CONTEXT_DEFAULTS` (and ``MEDIALAKE_*`` overrides) to the current DataContext."""
    if ctx is None:
        import ray.data

        ctx = ray.data.DataContext.get_current()
    for name, default in DATA_CONTEXT_DEFAULTS.items():
        var = "MEDIALAKE_" + name.upper()
        raw = os.environ.get(var)
        try:
            value = default if raw is None else type(default)(float(raw))
        except ValueError:
            raise ConfigError(f"{var}={raw!r} is not a number; unset it or give a number like {default}") from None
        setattr(ctx, name, value)
    # Without progress bars, also drop the plan banner Ray prints at each execution start.
    if not ctx.enable_progress_bars:
        ctx.print_on_execution_start = False
    executor_wait()
    return ctx


#: Seconds Ray Data's scheduling loop (a thread of the driver) waits in ``ray.wait`` before
#: its next step, at the start of a run. Ray Data waits for *all* running tasks with this
#: timeout, so in a stream of many tasks every step takes the whole wait: the loop steps
#: ten times a second at Ray's 0.1 s whether or not anything finished, and each step costs
#: the driver a few ms of CPU (benchmarks/cluster_bench.py: the loop's thread was half the
#: driver's CPU). Once tasks have finished, the wait follows their pace
#: (:func:`medialake.pipelines.monitor.adapt_executor_wait`). ``MEDIALAKE_EXECUTOR_WAIT_S``
#: fixes it instead (0.1: Ray's own).
EXECUTOR_WAIT_S = 0.25


def executor_wait() -> float:
    """Apply :data:`EXECUTOR_WAIT_S` (or ``MEDIALAKE_EXECUTOR_WAIT_S``) to Ray Data's
    scheduling loop. It is a module constant of Ray Data's executor
    (``streaming_executor_state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S``), read at each step;
    if a Ray release drops it, nothing is set. Returns the wait in effect."""
    raw = os.environ.get("MEDIALAKE_EXECUTOR_WAIT_S")
    try:
        wait = EXECUTOR_WAIT_S if raw is None else float(raw)
    except ValueError:
        raise ConfigError(f"MEDIALAKE_EXECUTOR_WAIT_S={raw!r} is not a number; unset it or give seconds like "
                          f"{EXECUTOR_WAIT_S}") from None
    if not 0 < wait <= 5:
        raise ConfigError(f"MEDIALAKE_EXECUTOR_WAIT_S={raw!r}: give seconds between 0 and 5, like {EXECUTOR_WAIT_S}")
    from ray.data._internal.execution import streaming_executor_state as state

    if hasattr(state, "WAIT_FOR_TASK_COMPLETION_TIMEOUT_S"):
        state.WAIT_FOR_TASK_COMPLETION_TIMEOUT_S = wait
    return getattr(state, "WAIT_FOR_TASK_COMPLETION_TIMEOUT_S", wait)


def _maintain_task(uri: str, storage_options: dict | None) -> dict[str, str]:
    """What :func:`maintain_on_cluster` runs in a Ray worker: :func:`medialake.store.maintain`
    on the database at ``uri``."""
    from medialake.store import Store, maintain

    store = Store(uri, create=False)
    store.storage_options = storage_options
    return maintain(store)


def maintain_on_cluster(store) -> dict[str, str]:
    """Index and compact ``store``'s database (:func:`medialake.store.maintain`) in a Ray
    task on the cluster this driver joined, not in the driver: at scale the index build is
    the heaviest step of a run, and the driver (often a small pod or a laptop) only waits.
    The driver keeps holding the database lock while the task runs; a driver that dies
    takes its task with it (Ray ends a dead owner's tasks) and the next run finds the
    segments unindexed (:func:`medialake.store.needs_maintenance`) and runs it again. When
    the task itself is lost (its worker or node died), the maintenance runs here instead.
    Returns what :func:`~medialake.store.maintain` returns."""
    import ray
    from ray.exceptions import RayError, RayTaskError

    from medialake.store import maintain

    task = ray.remote(num_cpus=1, max_retries=1)(_maintain_task)
    try:
        return ray.get(task.remote(store.uri, store.storage_options))
    except RayTaskError as e:  # maintain raised: the same error as in the driver
        raise e.as_instanceof_cause() from None
    except RayError:  # the worker or its node was lost: do it here
        for name in ("segments", "frames", "assets", "runs"):
            store.forget(name)
        return maintain(store)
