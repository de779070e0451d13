"""A model stage: one role's batch callable, declaring what it reads and writes.

Every model role the pipeline runs as an actor pool (``asr``, ``ocr``, ``captioner``,
``text``, ``image_text``, ``audio``) is a subclass of :class:`ModelStage` whose class
attributes say, in one place, everything the pipeline needs to know about it::

    class AsrStage(ModelStage):
        role = "asr"                          # config section and actor pool name
        reads = ("audio",)                    # stream columns it reads
        writes = ("transcript", "language")   # columns it fills
        Options = AsrOptions                  # typed `asr.options` (unknown fields fail)
        gpu_share = 0.25                      # of one GPU per actor, when there is one

``medialake.pipelines.adapter`` turns these declarations into ``map_batches``
arguments, and drops each payload column after the last stage that reads it; no side
table repeats them. The stage loads its model once per process in ``__init__`` and maps
``__call__(batch: pa.Table) -> pa.Table``, so it runs as well without Ray.
"""

from __future__ import annotations

from typing import ClassVar

import pyarrow as pa

from medialake.settings import Frozen, validate


class NoOptions(Frozen):
    """A role that takes no options: any field given under ``options`` is an error."""


class ModelStage:
    """Base of the model stages; see the module docstring for the declarations."""

    role: ClassVar[str]
    reads: ClassVar[tuple[str, ...]] = ()
    writes: ClassVar[tuple[str, ...]] = ()
    Options: ClassVar[type[Frozen]] = NoOptions
    #: share of one GPU each actor takes on a cluster with GPUs when the role leaves
    #: ``num_gpus`` at 0 and ``device`` at auto; 0 for a CPU-only model
    gpu_share: ClassVar[float] = 0.0
    #: ``decode`` settings the stage needs (passed as keyword arguments of the same name)
    decode_settings: ClassVar[tuple[str, ...]] = ()
    #: inputs per model call when the caller does not say (the pipeline passes the role's)
    default_batch_size: ClassVar[int] = 8
    #: cheap per input (OCR on thumbnails, MiniLM): the pipeline may run it in the same actor
    #: as a light neighbour with the same pool (:class:`StageChain`), one process for both models
    light: ClassVar[bool] = False

    def __init__(self, model: str, *, device: str = "auto", batch_size: int | None = None,
                 options: Frozen | dict | None = None, threads: int = 1):
        self.model = model
        self.device = device
        self.batch_size = batch_size or self.default_batch_size
        self.options = self.typed_options(options)
        #: batches the actor may run through this stage at once, each in its own thread
        #: (the role's ``threads``): a stage whose model needs a worker per call (CTranslate2)
        #: asks for that many; a stage with Python state shared across calls guards it
        self.threads = threads

    @classmethod
    def typed_options(cls, options: Frozen | dict | None) -> Frozen:
        """``options`` as the role's :attr:`Options` (a dict is validated; None: the defaults)."""
        if isinstance(options, cls.Options):
            return options
        return validate(cls.Options, options or {}, f"{cls.role}.options")

    def __call__(self, batch: pa.Table) -> pa.Table:  # pragma: no cover - every stage overrides it
        raise NotImplementedError


class StageChain:
    """Model stages run one after another in one process, as one batch callable.

    ``parts``: (stage class, its constructor keyword arguments) in pipeline order. The
    pipeline fuses consecutive :attr:`ModelStage.light` stages that ask for the same pool
    into one chain, so one worker process holds both models instead of one process each
    (its interpreter, Ray core worker and libraries loaded once).
    """

    def __init__(self, parts: tuple[tuple[type[ModelStage], dict], ...]):
        self.stages = [cls(**kwargs) for cls, kwargs in parts]

    def __call__(self, batch: pa.Table) -> pa.Table:
        for stage in self.stages:
            batch = stage(batch)
        return batch
