"""Meter a process tree: peak summed RSS and CPU seconds, sampled in a thread (psutil)."""

from __future__ import annotations

import os
import threading
import time

import psutil


class TreeMeter:
    """Sample a process and all its descendants in a thread: peak summed RSS, CPU seconds.

    CPU seconds (user + system, summed over the tree) hardly depend on what else runs on
    the machine, so they are the figure to compare when the wall times are noisy.
    """

    def __init__(self, pid: int | None = None, every: float = 0.2):
        self.pid, self.every = pid or os.getpid(), every
        self.peak = 0
        self.peak_parts: dict[str, int] = {}
        self._cpu_first: dict[int, float] = {}
        self._cpu_last: dict[int, float] = {}
        self._kind: dict[int, str] = {}
        self._label: dict[int, str] = {}
        #: (process label, RSS) of each process at the peak, largest first: which actor,
        #: task or daemon the peak is made of (``ray::MapWorker(MapBatches(asr))``, ``raylet``)
        self.peak_procs: list[tuple[str, int]] = []
        self._stop = threading.Event()
        self.own_cpu_s = 0.0

    @property
    def cpu_s(self) -> float:
        return sum(self.cpu_parts.values())

    @property
    def cpu_parts(self) -> dict[str, float]:
        """CPU-s of the driver, the Ray workers and Ray's daemons; the meter's own sampling
        thread is taken out of the driver's when the driver is this process."""
        parts = {"driver": 0.0, "workers": 0.0, "ray daemons": 0.0}
        for p, last in self._cpu_last.items():
            parts[self._kind[p]] += last - self._cpu_first.get(p, 0.0)
        if self.pid == os.getpid():
            parts["driver"] = max(parts["driver"] - self.own_cpu_s, 0.0)
        return parts

    @property
    def cpu_by_label(self) -> dict[str, float]:
        """CPU-s per process label (an actor's or task's title, a daemon's program; a worker
        that ran several things counts under its last title), largest first."""
        out: dict[str, float] = {}
        for p, last in self._cpu_last.items():
            label = "driver" if p == self.pid else self._label.get(p, "ray::IDLE")
            out[label] = out.get(label, 0.0) + last - self._cpu_first.get(p, 0.0)
        if self.pid == os.getpid() and "driver" in out:
            out["driver"] = max(out["driver"] - self.own_cpu_s, 0.0)
        return dict(sorted(out.items(), key=lambda kv: -kv[1]))

    def sample(self, first: bool = False) -> None:
        try:
            root = psutil.Process(self.pid)
            procs = [root] + root.children(recursive=True)
        except psutil.NoSuchProcess:
            return
        parts = {"driver": 0, "workers": 0, "ray daemons": 0}
        each = []
        for p in procs:
            try:
                with p.oneshot():
                    rss = p.memory_info().rss
                    t = p.cpu_times()
                    kind = self._kind.get(p.pid) or self._kind_of(p)
                    label = self._label.get(p.pid) or self._label_of(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
            if first:
                self._cpu_first[p.pid] = t.user + t.system
            self._cpu_last[p.pid] = t.user + t.system
            self._kind[p.pid] = kind
            parts[kind] += rss
            each.append((label, rss))
        total = sum(parts.values())
        if total > self.peak:
            self.peak, self.peak_parts = total, parts
            self.peak_procs = sorted(each, key=lambda x: -x[1])

    def _label_of(self, p: psutil.Process) -> str:
        """A Ray worker's title (``ray::IDLE``, ``ray::_StatsActor``, ``ray::MapWorker(...)``,
        which Ray sets when it runs something, so looked up again until then), or a daemon's
        program name."""
        if p.pid == self.pid:
            return "driver"
        cmd = p.cmdline()
        if cmd and cmd[0].startswith("ray::"):
            label = cmd[0].split(" ")[0]
            if label != "ray::IDLE":
                self._label[p.pid] = label
            return label
        prog = " ".join(cmd[:3])  # the program (or the script a python runs), not its arguments
        if "default_worker" in prog:  # a Ray worker before it sets its title: look again next time
            return "ray::(starting)"
        for key in ("raylet", "gcs_server", "dashboard/agent.py", "runtime_env/agent", "log_monitor", "monitor.py",
                    "dashboard.py", "ray.util.client.server"):
            if key in prog:
                self._label[p.pid] = key
                return key
        self._label[p.pid] = p.name()
        return p.name()

    def _kind_of(self, p: psutil.Process) -> str:
        if p.pid == self.pid:
            return "driver"
        # a Ray worker is named ray::... once it runs something; before, by its command line
        return "workers" if p.name().startswith("ray::") or "default_worker" in " ".join(p.cmdline()) \
            else "ray daemons"

    def _loop(self) -> None:
        t = time.thread_time()
        while not self._stop.wait(self.every):
            self.sample()
        self.own_cpu_s = time.thread_time() - t  # what sampling cost (in this process)

    def __enter__(self) -> "TreeMeter":
        self.sample(first=True)
        self._t = threading.Thread(target=self._loop, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._t.join()
        self.sample()
