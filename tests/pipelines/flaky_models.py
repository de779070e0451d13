"""A model stage that fails on chosen inputs, to test the retry policy (shipped to Ray by value)."""

import os

import pyarrow as pa

from medialake.models.stage import ModelStage
from medialake.settings import Frozen


class FlakyOptions(Frozen):
    marker_dir: str


class Flaky(ModelStage):
    """Dies (``os._exit``) on uris with ``poison``, raises on ``bad``, dies once on ``once``."""

    role = "flaky"
    reads = ("uri",)
    writes = ("out",)
    Options = FlakyOptions

    def __call__(self, batch: pa.Table) -> pa.Table:
        for uri in batch.column("uri").to_pylist():
            if "poison" in uri:
                os._exit(3)
            if "bad" in uri:
                raise ValueError(f"cannot handle {uri}")
            if "once" in uri:
                marker = os.path.join(self.options.marker_dir, "died-once")
                if not os.path.exists(marker):
                    open(marker, "w").close()
                    os._exit(3)
        return batch.append_column("out", pa.array([f"ok:{os.getpid()}"] * batch.num_rows))
