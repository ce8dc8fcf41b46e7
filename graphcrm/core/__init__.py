"""The bottom layer of graphcrm: graph type, id map, layer conventions, errors, numba set-up.

It imports nothing else of the project; everything else imports it.
"""

from graphcrm.core.builder import GraphBuilder
from graphcrm.core.errors import (
    ConfigError,
    ConvergenceError,
    GraphCRMError,
    InputFileError,
    InvalidInputError,
    LayerNotFoundError,
    NodeNotFoundError,
    ParameterError,
    SnapshotError,
)
from graphcrm.core.graph import EventLog, Layer, SocialGraph
from graphcrm.core.idmap import IdMap
from graphcrm.core.layers import DEFAULT_SPECS, LayerSpec, spec_for

__all__ = [
    "ConfigError",
    "ConvergenceError",
    "DEFAULT_SPECS",
    "EventLog",
    "GraphBuilder",
    "GraphCRMError",
    "IdMap",
    "InputFileError",
    "InvalidInputError",
    "Layer",
    "LayerNotFoundError",
    "LayerSpec",
    "NodeNotFoundError",
    "ParameterError",
    "SnapshotError",
    "SocialGraph",
    "spec_for",
]
