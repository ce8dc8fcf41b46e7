"""The rank-measure registry: every per-account influence measure ``graphcrm rank --method`` can use.

A measure registers where it is defined, with the :func:`rank_measure` decorator on its public
wrapper; :func:`rank_measures` finds them all by importing the public modules of
:mod:`graphcrm.algorithms` once.  Adding a centrality measure therefore touches three files -- its
kernel, its wrapper (decorated), its test -- and the CLI's ``--method`` choices, ``graphcrm warmup``
(which discovers kernel modules by their ``_warmup()``) and the README's measure table
(checked by a test) follow.

This module imports nothing of the project at its top, so any algorithm module can import it.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

import numpy as np

from graphcrm.loaders.results import tie_at_cut

#: options ``graphcrm rank`` can hand to a measure; each measure names those it takes (``k`` is ``--top``)
RANK_OPTIONS = ("seed", "model", "n_samples", "k")


@dataclass(frozen=True)
class RankMeasure:
    """One registered measure: ``name`` (the ``--method`` value), a one-line ``description``,
    the public ``function`` ``f(graph, *, layer, ...)``, the :data:`RANK_OPTIONS` it takes,
    fixed keyword ``defaults`` for ranking, and ``table``, which turns the function's result
    into the ranked table (default: ``result.to_frame()``, rows by falling score)."""

    name: str
    description: str
    function: Callable
    options: tuple = ()
    defaults: Mapping = field(default_factory=dict)
    table: Callable | None = None

    def rank(self, graph, layer, *, top: int, **options):
        """The ``top`` accounts by this measure as a DataFrame (external ids, score columns)."""
        options = {**options, "k": top}
        kwargs = {k: options[k] for k in self.options if k in options}
        result = self.function(graph, layer=layer, **{**kwargs, **self.defaults})
        frame = self.table(result) if self.table is not None else result.to_frame()
        if self.table is None:            # a list cut through a tie lists some of it, in id order: said
            tie = tie_at_cut(frame[result.name].to_numpy(dtype=np.float64), top)
            frame = frame.head(top)
            if tie is not None:
                frame.attrs["tie_at_cut"] = {"measure": result.name, **tie}
            return frame
        return frame.head(top)


_REGISTRY: dict[str, RankMeasure] = {}


def rank_measure(name: str, description: str, *, options: tuple = (), defaults: Mapping | None = None,
                 table: Callable | None = None) -> Callable:
    """Register the decorated public wrapper as the rank measure ``name``.

    Parameters
    ----------
    name : str
        The ``--method`` value (snake_case, unique).
    description : str
        One line for ``--help`` and the README.
    options : tuple of str
        Which of :data:`RANK_OPTIONS` the function takes (``k`` receives ``--top``).
    defaults : mapping, optional
        Keyword arguments fixed when ranking (e.g. ``{"mode": "out"}``).
    table : callable, optional
        Result -> DataFrame, when the result is not a ``NodeScores``.

    Examples
    --------
    >>> @rank_measure("_doc_example", "an example measure")
    ... def _doc_example(graph, *, layer):
    ...     pass
    >>> _REGISTRY.pop("_doc_example").description
    'an example measure'
    """

    def register(function: Callable) -> Callable:
        if name in _REGISTRY and _REGISTRY[name].function.__qualname__ != function.__qualname__:
            raise ValueError(f"rank measure {name!r} is registered twice")
        unknown = set(options) - set(RANK_OPTIONS)
        if unknown:
            raise ValueError(f"rank measure {name!r}: unknown options {sorted(unknown)}; known: {RANK_OPTIONS}")
        _REGISTRY[name] = RankMeasure(name, description, function, tuple(options),
                                      MappingProxyType(dict(defaults or {})), table)
        return function

    return register


def rank_measures() -> Mapping[str, RankMeasure]:
    """Every registered measure by name, in registration order.

    Imports the public modules of :mod:`graphcrm.algorithms` (once) so their decorators run.

    Examples
    --------
    >>> "pagerank" in rank_measures() and "coreness" in rank_measures()
    True
    """
    package = importlib.import_module(__name__.rsplit(".", 1)[0])
    for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
        if not info.name.rsplit(".", 1)[1].startswith("_"):
            importlib.import_module(info.name)
    return MappingProxyType(_REGISTRY)
