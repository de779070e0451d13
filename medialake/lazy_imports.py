"""Defer the import of Lance's REST namespace client until something uses it.

``import lance`` (pylance 4.0.2) imports ``lance_namespace``, which imports
``lance_namespace_urllib3_client``: an OpenAPI-generated REST client whose package
``__init__`` builds every API class (pydantic ``validate_call`` on a few hundred methods).
That is about 0.7 of the 1.6 CPU-s of ``import lance``, paid by every process that opens a
table (the driver, and each Ray worker that writes Lance fragments), and medialake never
talks to a REST namespace: it only needs the request and response models that
``lance.namespace`` names, which live in the package's ``models`` subpackage.

:func:`defer_lance_rest_client` registers the package as a module whose ``__path__`` is the
real one, so its submodules (``models`` and the rest) import as before, and whose own
``__init__`` runs the first time one of its top-level names (``ApiClient``, ``DataApi``,
...) is asked for. Nothing else changes: a REST namespace still works, one import later.
``MEDIALAKE_EAGER_IMPORTS=1`` turns this off.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import types

REST_CLIENT = "lance_namespace_urllib3_client"


def defer_lance_rest_client() -> bool:
    """Register the deferred package; False if it is already imported, absent or turned off."""
    if os.environ.get("MEDIALAKE_EAGER_IMPORTS") == "1" or REST_CLIENT in sys.modules:
        return False
    try:
        spec = importlib.util.find_spec(REST_CLIENT)
    except (ImportError, ValueError):
        return False
    if spec is None or not spec.submodule_search_locations or not spec.origin:
        return False
    shell = types.ModuleType(REST_CLIENT, "deferred by medialake.lazy_imports")
    shell.__path__ = list(spec.submodule_search_locations)
    shell.__file__ = spec.origin
    shell.__spec__ = spec
    shell.__package__ = REST_CLIENT
    shell.__loader__ = spec.loader

    def __getattr__(name: str):  # noqa: N807 - PEP 562 module hook
        del shell.__dict__["__getattr__"]  # run the real __init__ once, into this module
        with open(spec.origin, encoding="utf-8") as f:
            code = compile(f.read(), spec.origin, "exec")
        exec(code, shell.__dict__)  # noqa: S102 - the package's own __init__
        return getattr(shell, name)

    shell.__getattr__ = __getattr__
    sys.modules[REST_CLIENT] = shell
    return True
