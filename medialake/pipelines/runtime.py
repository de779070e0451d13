"""Start or join Ray, with the settings that make local runs quiet and safe."""

from __future__ import annotations

import os


def ensure_ray(address: str | None = None, num_cpus: int | None = None):
    """Join the Ray cluster at ``address`` ('auto', 'ray://host:port'), or start a local one.

    Local runs disable Ray's token auth and usage stats, and the dashboard.
    """
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    import ray

    if ray.is_initialized():
        return ray
    pkg_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    if address:
        # The cluster runs this driver's medialake code: the package travels in the runtime env,
        # unless this driver is a Ray job (``medialake submit``) whose runtime env brought it.
        env = {"env_vars": {"RAY_AUTH_MODE": "disabled"}, "py_modules": [os.path.join(pkg_root, "medialake")]}
        try:
            ray.init(address=address, runtime_env=env, log_to_driver=True)
        except ValueError as e:
            if "runtime env" not in str(e):
                raise
            ray.init(address=address, log_to_driver=True)
    else:
        pp = os.environ.get("PYTHONPATH", "")
        if pkg_root not in pp.split(os.pathsep):
            os.environ["PYTHONPATH"] = pkg_root + (os.pathsep + pp if pp else "")
        ray.init(address="local", num_cpus=num_cpus, include_dashboard=False, log_to_driver=True,
                 logging_level="WARNING")
    ctx = ray.data.DataContext.get_current()
    ctx.enable_progress_bars = os.environ.get("MEDIALAKE_PROGRESS", "1") != "0"
    return ray
