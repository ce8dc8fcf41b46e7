"""graphcrm: social-graph influence analytics for social CRM.

The public API is re-exported here lazily, so ``import graphcrm`` stays cheap
and the bottom layer (:mod:`graphcrm.core`) never imports the layers above it.

Examples
--------
>>> import graphcrm
>>> g = graphcrm.GraphBuilder().add_edges("follows", ["a"], ["b"]).build()
>>> g.n_nodes
2
"""

from importlib import import_module

__version__ = "0.1.0"

_EXPORTS = {
    "SocialGraph": "graphcrm.core",
    "Layer": "graphcrm.core",
    "EventLog": "graphcrm.core",
    "IdMap": "graphcrm.core",
    "GraphBuilder": "graphcrm.core",
    "LayerSpec": "graphcrm.core",
    "GraphCRMError": "graphcrm.core",
    "InputFileError": "graphcrm.core",
    "save_snapshot": "graphcrm.core.snapshot",
    "load_snapshot": "graphcrm.core.snapshot",
    "load_edges": "loaders",
    "load_interactions": "loaders",
    "load_signed": "loaders",
    "load_nodes": "loaders",
    "graph_info": "graphcrm.info",
    "warmup": "graphcrm.warmup",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'graphcrm' has no attribute {name!r}")
