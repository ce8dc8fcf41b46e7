"""Floor 1 of graphcrm: the graph and its I/O (import name ``graphcrm.loaders``).

The :class:`SocialGraph` type, its id map and layer conventions, the builder,
snapshots on disk, the readers of every supported file format and the Neo4j
store all live here.  This floor imports nothing of the floors above it
(:mod:`graphcrm.algorithms`, then the rest of :mod:`graphcrm`); everything
above imports it.

Names are re-exported lazily, so importing one module of this package (say
:mod:`graphcrm.loaders.numba_config` from a kernel) does not pull in pyarrow
and every reader.

Examples
--------
>>> from graphcrm.loaders import GraphBuilder
>>> GraphBuilder().add_edges("follows", ["a"], ["b"]).build().n_nodes
2
"""

from graphcrm.loaders._lazy import lazy_exports

if __name__ != "graphcrm.loaders":        # the folder loaders/ installs as graphcrm.loaders only
    raise ImportError(f"import this package as graphcrm.loaders, not {__name__!r} "
                      "(pip install -e . maps the folder loaders/ to graphcrm.loaders)")

_EXPORTS = {
    # the graph type and its conventions
    "SocialGraph": ".graph", "Layer": ".graph", "EventLog": ".graph", "IdMap": ".idmap", "GraphBuilder": ".builder",
    "LayerSpec": ".layers", "DEFAULT_SPECS": ".layers", "spec_for": ".layers",
    # errors
    "GraphCRMError": ".errors", "ConfigError": ".errors", "ConvergenceError": ".errors", "InputFileError": ".errors",
    "InvalidInputError": ".errors", "LayerNotFoundError": ".errors", "NodeNotFoundError": ".errors",
    "ParameterError": ".errors", "SnapshotError": ".errors",
    # snapshots
    "save_snapshot": ".snapshot", "load_snapshot": ".snapshot",
    # other libraries' graphs (the to_* half is SocialGraph.to_networkx / to_igraph / to_scipy)
    "from_networkx": ".convert", "from_igraph": ".convert", "from_scipy": ".convert",
    # file readers
    "read_customers": ".customers", "ERROR_CLASSES": "._tables", "LoadReport": "._tables", "write_rejects": "._tables",
    "INTERACTION_TYPE_NAMES": ".api", "ParsedSource": ".api", "build_graph": ".api", "load_edges": ".api",
    "load_interactions": ".api", "load_nodes": ".api", "load_signed": ".api", "read_edges": ".api",
    "read_interactions": ".api", "read_nodes": ".api", "read_signed": ".api",
    # messages: topics and text sentiment
    "topic_graph": ".topics", "topic_counts": ".topics", "read_topic_rules": ".topics",
    "text_sentiment": ".sentiment", "load_event_text": ".snapshot",
    # the Neo4j store
    "Neo4jStore": ".neo4j_store",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
