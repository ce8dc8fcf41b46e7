"""Lazy re-exports for a package ``__init__``: a name is imported from its module on first use.

``import graphcrm`` and a kernel's ``import graphcrm.loaders.numba_config`` stay cheap because the
package ``__init__`` modules import nothing eagerly.
"""

from __future__ import annotations

from importlib import import_module
from typing import Callable, Mapping


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable, Callable]:
    """``(__getattr__, __dir__)`` for ``package`` re-exporting ``name -> module`` lazily.

    A module given with a leading dot is relative to ``package``.

    Examples
    --------
    >>> getattr_, dir_ = lazy_exports("json", {"dumps": "json", "scanner": ".scanner"})
    >>> getattr_("dumps")([1])
    '[1]'
    >>> "scanner" in dir_()
    True
    """

    def __getattr__(name: str):
        if name in exports:
            module = exports[name]
            return getattr(import_module(package + module if module.startswith(".") else module), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__() -> list[str]:
        return sorted(set(vars(import_module(package))) | set(exports))

    return __getattr__, __dir__
