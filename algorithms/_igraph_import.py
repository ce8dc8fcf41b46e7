"""igraph, imported without its matplotlib drawing backend in a command-line process.

``import igraph`` imports ``matplotlib.pyplot`` whenever matplotlib is installed (for ``igraph.plot``): about
0.3-0.4 s of every ``graphcrm communities`` / ``graphcrm run`` call, more than igraph itself.  A command-line
process never plots, so the CLI sets :data:`LEAN_ENV` and :func:`igraph_module` then imports igraph with
matplotlib hidden (igraph falls back to its stand-in that raises on plotting).  In every other process -- a
notebook, a user's script -- igraph is imported as usual, plotting included.
"""

from __future__ import annotations

import importlib.abc
import os
import sys

#: environment variable the CLI sets to "1": import igraph without matplotlib
LEAN_ENV = "GRAPHCRM_LEAN_IGRAPH"


class _HideMatplotlib(importlib.abc.MetaPathFinder):
    """A finder that makes ``import matplotlib`` (and its submodules) fail while it is installed."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "matplotlib" or fullname.startswith("matplotlib."):
            raise ImportError(f"{fullname} hidden while graphcrm imports igraph ({LEAN_ENV}=1)")
        return None


def igraph_module():
    """The ``igraph`` module; in a lean process (``GRAPHCRM_LEAN_IGRAPH=1``) imported without matplotlib.

    Examples
    --------
    >>> igraph_module().Graph(n=2, edges=[(0, 1)]).ecount()
    1
    """
    lean = os.environ.get(LEAN_ENV) == "1" and "igraph" not in sys.modules and "matplotlib" not in sys.modules
    if not lean:
        import igraph

        return igraph
    hide = _HideMatplotlib()
    sys.meta_path.insert(0, hide)
    try:
        import igraph
    finally:
        sys.meta_path.remove(hide)
    return igraph
