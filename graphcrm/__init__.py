"""graphcrm: social-graph influence analytics for social CRM.

The public API is re-exported here lazily, so ``import graphcrm`` stays cheap
and the bottom layer (:mod:`graphcrm.loaders`) never imports the layers above it.

Examples
--------
>>> import graphcrm
>>> g = graphcrm.GraphBuilder().add_edges("follows", ["a"], ["b"]).build()
>>> g.n_nodes
2
"""

from graphcrm.loaders._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "SocialGraph": "graphcrm.loaders",
    "Layer": "graphcrm.loaders",
    "EventLog": "graphcrm.loaders",
    "IdMap": "graphcrm.loaders",
    "GraphBuilder": "graphcrm.loaders",
    "LayerSpec": "graphcrm.loaders",
    "GraphCRMError": "graphcrm.loaders",
    "InputFileError": "graphcrm.loaders",
    "save_snapshot": "graphcrm.loaders.snapshot",
    "load_snapshot": "graphcrm.loaders.snapshot",
    "load_edges": "graphcrm.loaders",
    "load_interactions": "graphcrm.loaders",
    "load_signed": "graphcrm.loaders",
    "load_nodes": "graphcrm.loaders",
    "from_networkx": "graphcrm.loaders",
    "from_igraph": "graphcrm.loaders",
    "from_scipy": "graphcrm.loaders",
    "graph_info": "graphcrm.info",
    "warmup": "graphcrm.warmup",
    "audit": "graphcrm.audience",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
