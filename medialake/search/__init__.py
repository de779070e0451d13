"""Query -> vectors per space + full text -> ranked moments. Ray-free.

Modules: ``spaces`` (which vector columns exist, the query vector for each),
``encoders`` (query encoders per space, query media decoding), ``lists`` (one ranked
list per vector column, full text and phrase), ``fusion`` (weighted RRF), ``moments``
(merge neighbouring hits, mark query words), ``filters`` (typed filters -> safe
conditions), ``config`` (``SearchConfig``), ``query`` (``search``, tying them together).

``medialake.search(...)`` is both this package and the search function: the package
is callable, so importing ``medialake.search.query`` (which makes Python bind the
subpackage to the name ``medialake.search``) does not hide the function.
"""

import sys
import types


class _CallableModule(types.ModuleType):
    def __call__(self, query=None, db=None, **kwargs):
        from medialake.search.query import search

        return search(query, db, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
