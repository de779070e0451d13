"""The one adapter from stage declarations to Ray Data: which stages a config switches
on, the ``map_batches`` arguments of each, and the payloads each one drops.

A model stage (:class:`medialake.models.stage.ModelStage`) declares its role, the columns
it reads and writes, its typed options and its GPU share. Here those declarations meet
the config's :class:`~medialake.pipelines.config.RoleConfig` (pool size, batch size,
CPUs, GPUs, device) and the cluster (GPUs or not), and become one ``map_batches`` call:
the stage wrapped by :class:`~medialake.pipelines.retry.RetryingStage` under a class
named after its role, so Ray's logs and dashboard show ``MapBatches(asr)`` (roles fused
into one pool: ``MapBatches(asr+ocr+text)``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from medialake import schema
from medialake.errors import ConfigError
from medialake.models.asr import AsrStage
from medialake.models.audio import AudioEmbedStage
from medialake.models.captioner import CaptionStage
from medialake.models.image_text import ImageEmbedStage
from medialake.models.ocr import OcrStage
from medialake.models.stage import ModelStage, StageChain
from medialake.models.text import TextEmbedStage
from medialake.pipelines.config import IngestConfig, RoleConfig
from medialake.pipelines.retry import AttemptLedger, RetryingStage

#: The custom Ray resources that place work on a cluster (``ray start --resources``): nodes
#: that decode offer ``decode``, nodes that run the model pools (GPU nodes) offer ``models``.
#: ``cluster_config.yaml`` asks for them, ``ray_cluster.yaml`` and the KubeRay RayJob
#: (:func:`medialake.jobs.schedule.kubernetes_manifests`) offer them, under these names.
DECODE_RESOURCE = "decode"
MODELS_RESOURCE = "models"

#: The model stages in pipeline order: text producers first (ASR, OCR, captions), then
#: the text encoder that embeds their combined text, then the other encoders.
STAGES: tuple[type[ModelStage], ...] = (AsrStage, OcrStage, CaptionStage, TextEmbedStage, ImageEmbedStage,
                                        AudioEmbedStage)

#: Share of one GPU each pool gets when a GPU is present and the role says ``num_gpus: 0``
#: with ``device: auto`` (sums below 1, so every pool fits on one device), as declared.
AUTO_GPU_SHARE = {cls.role: cls.gpu_share for cls in STAGES if cls.gpu_share}


@dataclass(frozen=True)
class Step:
    """One model stage of a run: its class, the role config that sizes its pool, and the
    ``decode`` settings it declared it needs (e.g. the sample rate)."""

    name: str
    cls: type[ModelStage]
    role: RoleConfig
    decode_settings: dict = field(default_factory=dict)


def steps(cfg: IngestConfig) -> list[Step]:
    """The model stages that the config switches on, in pipeline order."""
    out = []
    for cls in STAGES:
        role: RoleConfig = getattr(cfg, cls.role)
        if role.model:
            out.append(Step(cls.role, cls, role, {k: getattr(cfg.decode, k) for k in cls.decode_settings}))
    return out


def payload_drops(plan: list[Step]) -> tuple[tuple[str, ...], list[tuple[str, ...]]]:
    """(payload columns decode leaves null, payload columns each step nulls on its way out).

    A payload (:data:`medialake.schema.PAYLOADS`: PCM, frames) is nulled after the last
    step that declares it reads it, so it stops travelling through the object store; one
    that no step reads is not made at all.
    """
    last = {col: i for i, step in enumerate(plan) for col in step.cls.reads if col in schema.PAYLOADS}
    at_decode = tuple(c for c in schema.PAYLOADS if c not in last)
    return at_decode, [tuple(c for c in schema.PAYLOADS if last.get(c) == i) for i in range(len(plan))]


def fuse(plan: list[Step], available_gpus: float, mode: str = "cpu") -> list[list[Step]]:
    """The plan's steps grouped into actor pools, in order (``mode``: the config's
    ``fuse_stages``). ``cpu``: consecutive steps that take no GPU and ask for the same
    custom resources share one pool; on a CPU machine that is every model role, one
    process per actor holding all the models, as a loop would (the stages compete for the
    same cores anyway, so separate pools buy no parallelism, only processes). ``light``:
    only consecutive light stages (:attr:`~medialake.models.stage.ModelStage.light`, e.g.
    OCR then the text encoder) that ask for the same pool (concurrency, threads, custom
    resources). ``none``: a pool per step. A fused pool's actor runs its steps as a
    :class:`~medialake.models.stage.StageChain`."""
    groups: list[list[Step]] = []
    for step in plan:
        prev = groups[-1][-1] if groups else None
        if prev is not None and _fusible(prev, step, available_gpus, mode):
            groups[-1].append(step)
        else:
            groups.append([step])
    return groups


def _fusible(a: Step, b: Step, available_gpus: float, mode: str) -> bool:
    if mode == "none" or gpus_for(a, available_gpus) or gpus_for(b, available_gpus) \
            or a.role.resources != b.role.resources:
        return False
    if mode == "cpu":
        return True
    return (a.cls.light and b.cls.light and a.role.concurrency == b.role.concurrency
            and a.role.threads == b.role.threads)


def pool_role(group: list[Step]) -> RoleConfig:
    """The role config that sizes the pool of ``group`` (:func:`fuse`): the first step's,
    with the most actors (``auto`` if any step says so), the most threads and the largest
    CPU reservation of its steps. Each thread runs the steps one after another, so it
    never holds more than its largest stage's reservation at a time."""
    roles = [s.role for s in group]
    if len(roles) == 1:
        return roles[0]
    conc = "auto" if any(r.concurrency == "auto" for r in roles) else max(r.concurrency for r in roles)
    return roles[0].model_copy(update={"concurrency": conc, "threads": max(r.threads for r in roles),
                                       "num_cpus": max(r.num_cpus for r in roles)})


def cluster_nodes() -> list[dict[str, float]]:
    """The resources of each alive node of the running Ray cluster (empty when Ray is not started)."""
    import ray

    if not ray.is_initialized():
        return []
    return [{k: float(v) for k, v in n["Resources"].items()} for n in ray.nodes() if n.get("Alive")]


def cluster_gpus() -> float:
    """GPUs in the running Ray cluster (0 when Ray is not started)."""
    return sum(n.get("GPU", 0.0) for n in cluster_nodes())


def actor_demand(role: RoleConfig, gpus: float) -> dict[str, float]:
    """What one actor of ``role`` asks Ray for: CPUs, GPUs (when it has a share) and custom resources."""
    return {"CPU": role.num_cpus, **({"GPU": gpus} if gpus else {}), **role.resources}


def pool_size(role: RoleConfig, gpus: float, nodes: list[dict[str, float]]) -> int | tuple[int, int]:
    """The role's pool: its ``concurrency``, or for ``"auto"`` (1, n) with n the actors that
    fit on the cluster's nodes (``nodes``: :func:`cluster_nodes`; on each node, as many as
    its scarcest requested resource holds), so one config fits a laptop, a two-node test
    cluster and a GPU cluster. No node with the resources is an error naming them."""
    if role.concurrency != "auto":
        return role.concurrency
    need = {k: v for k, v in actor_demand(role, gpus).items() if v > 0}
    n = sum(int(min(node.get(k, 0.0) / v for k, v in need.items()) + 1e-9) for node in nodes) if need else 1
    if nodes and n < 1:
        wants = ", ".join(f"{v:g} {k}" for k, v in need.items())
        raise ConfigError(f"no node of the Ray cluster holds one actor ({wants}); start a node with those "
                          f"resources (ray start --resources) or change the role's num_cpus/num_gpus/resources")
    return (1, max(1, n))


def decode_fuses(cfg: IngestConfig, first_pool: dict | None) -> bool:
    """Whether Ray Data fuses the decode tasks into the first model pool (``first_pool``: its
    :func:`stage_args`): both ask for the same CPUs, no GPU, the same custom resources and
    Ray options, and ``decode.concurrency`` leaves the number of tasks to the pool."""
    d = cfg.decode
    return (first_pool is not None and not d.concurrency and not first_pool.get("num_gpus")
            and first_pool["num_cpus"] == d.num_cpus and first_pool.get("resources", {}) == dict(d.resources)
            and not restart_args(cfg))


def decode_tasks(cfg: IngestConfig, first_pool: dict | None, nodes: list[dict[str, float]]) -> int | None:
    """Most decode tasks at once (``TaskPoolStrategy(size=...)``), or None for Ray Data's own.

    ``decode.concurrency`` when set. Else, when Ray Data fuses decode into the first model
    pool (``first_pool``: its :func:`stage_args`; fused when both ask for the same CPUs,
    GPUs, custom resources and Ray options), None: that pool's actors decode, so their
    number bounds it (a size that differs from the pool's would undo the fusion). Else
    half the CPUs of the nodes that can run a decode task (``nodes``:
    :func:`cluster_nodes`), at least 1. Ray Data alone would start ``CPUs /
    decode.num_cpus`` tasks, as many as the files up to that, each a worker process of
    about 230 MiB (PSS) with its libraries, so memory grew with the archive. A decode
    task keeps at most one core busy (0.21 CPU-s for a minute of 320x240 video in 0.23 s)
    and shares the cores with the sink's commits, Ray's daemons and, unfused, the model
    actors: on 2 cores a second task bought no time (``benchmarks/memory_bench.py``, 10
    videos: 15.7 s with one, 16.0 s with two) and cost 230 MiB."""
    d = cfg.decode
    if d.concurrency:
        return d.concurrency
    if decode_fuses(cfg, first_pool):
        return None
    if not nodes:
        return None
    cpus = sum(n.get("CPU", 0.0) for n in nodes if all(n.get(k, 0.0) >= v for k, v in d.resources.items()))
    return max(1, int(cpus) // 2)


def gpus_for(step: Step, available: float) -> float:
    """GPUs per actor for ``step``: the role's ``num_gpus``, the stage's declared share when
    the cluster has a GPU and the role leaves it to ``auto``, and 0 on a CPU-only cluster."""
    role = step.role
    if role.device == "cpu":
        return 0.0
    if available <= 0:
        if role.device == "cuda":
            raise ConfigError(f"{step.name}.device is cuda but the Ray cluster has no GPU; set {step.name}.device: auto")
        return 0.0
    return float(role.num_gpus or step.cls.gpu_share)


def stage_args(step: Step, available_gpus: float | None = None) -> dict:
    """``map_batches`` keyword arguments for a model stage, without the retry wrapper.

    The actor's device follows its GPU share: an actor without one runs on CPU in fp32,
    one with a share picks CUDA and bf16/fp16 itself.
    """
    import ray

    role = step.role
    nodes = cluster_nodes()
    gpus = gpus_for(step, sum(n.get("GPU", 0.0) for n in nodes) if available_gpus is None else available_gpus)
    device = role.device if gpus > 0 or role.device == "cpu" else "cpu"
    size = pool_size(role, gpus, nodes)
    threads = {}
    if role.threads > 1:  # each actor runs that many batches at once, in threads (the UDF too)
        threads = dict(max_concurrent_calls_per_actor=role.threads, enable_true_multi_threading=True)
        # batches queued per actor scale with its threads; unset (a DataContext that
        # tune_data_context did not set), Ray Data's own default already scales with them
        queued = ray.data.DataContext.get_current().max_tasks_in_flight_per_actor
        if queued:
            threads["max_tasks_in_flight_per_actor"] = role.threads * queued
    pool = ray.data.ActorPoolStrategy(size=size, **threads) if isinstance(size, int) else \
        ray.data.ActorPoolStrategy(min_size=size[0], max_size=size[1], **threads)
    kwargs = {"model": role.model, "device": device, "batch_size": role.batch_size, "options": role.options,
              **({"threads": role.threads} if role.threads > 1 else {}), **step.decode_settings}
    return dict(
        fn_constructor_kwargs=kwargs,
        batch_size=role.batch_size,
        batch_format="pyarrow",
        compute=pool,
        num_cpus=role.num_cpus,
        num_gpus=gpus or None,
        **({"resources": dict(role.resources)} if role.resources else {}),
    )


def restart_args(cfg: IngestConfig) -> dict:
    """Ray actor options from ``cfg.retries``; only what differs from Ray Data's actor pool
    defaults (-1, unlimited, for both: Ray 2.60 has no named parameter for these and warns
    about ``**ray_remote_args``)."""
    r = cfg.retries
    out = {}
    if r.max_restarts != -1:
        out["max_restarts"] = r.max_restarts
    if r.max_task_retries != -1:
        out["max_task_retries"] = r.max_task_retries
    return out


def pool_class(role: str) -> type:
    """:class:`RetryingStage` under the role's name, so the actor pool reads ``MapBatches(asr)``."""
    return type(role, (RetryingStage,), {"__doc__": f"The {role} stage with the retry policy."})


def new_ledger(run: str | None = None) -> AttemptLedger:
    """The :class:`AttemptLedger` of a run (one per run is enough: its keys name the role).
    Its counts live in the GCS's key-value store, so a lost worker node takes none of them
    with it; the caller ends it with :meth:`~AttemptLedger.close`."""
    return AttemptLedger(run)


def pool_args(group: list[Step], available_gpus: float | None = None) -> tuple[str, type, dict]:
    """(pool name, stage class, ``map_batches`` keyword arguments) of one pool of
    :func:`fuse`: a single step's :func:`stage_args`, or for fused steps a
    :class:`~medialake.models.stage.StageChain` of them named e.g. ``asr+ocr+text``, sized
    by :func:`pool_role`, with the smallest batch size of its parts; each part is built
    with its own role's settings and the pool's threads."""
    if len(group) == 1:
        return group[0].name, group[0].cls, stage_args(group[0], available_gpus)
    role = pool_role(group)
    args = stage_args(Step(group[0].name, group[0].cls, role, group[0].decode_settings), available_gpus)
    parts = [stage_args(Step(step.name, step.cls, step.role.model_copy(update={"threads": role.threads}),
                             step.decode_settings), available_gpus) for step in group]
    args["fn_constructor_kwargs"] = {"parts": tuple((step.cls, p["fn_constructor_kwargs"])
                                                    for step, p in zip(group, parts))}
    args["batch_size"] = min(p["batch_size"] for p in parts)
    return "+".join(step.name for step in group), StageChain, args


def apply_step(ds, step: Step | list[Step], cfg: IngestConfig, ledger=None, drop: tuple[str, ...] = (),
               then=None, per_file: bool = False):
    """``ds.map_batches`` of one model stage (or of a pool of fused ones, :func:`fuse`)
    under the retry policy of ``cfg``; ``drop``: payload columns the stage nulls in its
    output (no later stage reads them); ``then``: a batch callable applied to the output in
    the same actor (the fragment writer).

    ``per_file``: decode is fused into this pool (:func:`decode_fuses`), so each of its
    tasks takes one file and runs its decoded blocks through the stages as they come
    (``batch_size=None``; each stage still calls its model ``batch_size`` inputs at a
    time). Ray Data bundles a fused task's input to the larger batch size of the two, so
    with ``batch_size: 2`` each task decoded and transcribed two files one after the other:
    the run's last task kept one thread busy for two files' time while the rest idled."""
    if ledger is None:
        ledger = new_ledger()
    name, cls, args = pool_args(step if isinstance(step, list) else [step])
    if per_file:
        args["batch_size"] = None
    args["fn_constructor_kwargs"] = {"stage": cls, "role": name, "ledger": ledger,
                                     "attempts": cfg.retries.attempts, "drop": tuple(drop), "then": then,
                                     **args["fn_constructor_kwargs"]}
    args.update(restart_args(cfg))
    return ds.map_batches(pool_class(name), **args)
