"""Query -> vectors per space + full text -> ranked moments. Ray-free.

``medialake.search(...)`` is both this package and the search function: the package
is callable, so importing ``medialake.search.query`` (which makes Python bind the
subpackage to the name ``medialake.search``) does not hide the function.
"""

import sys
import types


class _CallableModule(types.ModuleType):
    def __call__(self, query, db, **kwargs):
        from medialake.search.query import search

        return search(query, db, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
