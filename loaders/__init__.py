"""Loaders: files and tables -> validated columns -> :class:`graphcrm.core.SocialGraph`.

Sits on :mod:`graphcrm.core` only (never imports :mod:`algorithms`).
"""

from loaders.customers import read_customers
from loaders._tables import ERROR_CLASSES, LoadReport, write_rejects
from loaders.api import (
    INTERACTION_TYPE_NAMES,
    ParsedSource,
    build_graph,
    load_edges,
    load_interactions,
    load_nodes,
    load_signed,
    read_edges,
    read_interactions,
    read_nodes,
    read_signed,
)

__all__ = [
    "ERROR_CLASSES",
    "INTERACTION_TYPE_NAMES",
    "LoadReport",
    "ParsedSource",
    "build_graph",
    "load_edges",
    "load_interactions",
    "load_nodes",
    "load_signed",
    "read_customers",
    "read_edges",
    "read_interactions",
    "read_nodes",
    "read_signed",
    "write_rejects",
]
