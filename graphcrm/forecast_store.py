"""Forecast models stored with their snapshot: ``SNAPSHOT/models/forecast-LAYER.json``, versioned.

A model is plain JSON (the log-linear coefficients, interval bands, how it
validated and a fingerprint of the log it was fitted on), written atomically
next to the snapshot's arrays.  :func:`load_model` returns it only when the
fingerprint still matches the snapshot (same accounts, same events per layer
and time span) -- a snapshot reloaded with new events gets a fresh fit, never
a stale model.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from graphcrm.algorithms.forecast import (FORMAT_VERSION, MIN_VALIDATION_ACCOUNTS, ForecastModel, default_horizon,
                                         graph_fingerprint)
from graphcrm.loaders.graph import SocialGraph

MODELS_DIR = "models"


def model_path(snapshot, layer: str) -> Path:
    """Where the forecast model of ``layer`` is stored in ``snapshot``."""
    return Path(snapshot) / MODELS_DIR / f"forecast-{layer}.json"


def save_model(snapshot, model: ForecastModel) -> Path:
    """Store ``model`` with ``snapshot`` (temp file + rename: a reader never sees half a model)."""
    path = model_path(snapshot, model.layer)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        tmp.write_text(json.dumps(model.to_dict(), indent=1), encoding="utf-8")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def load_model(snapshot, graph: SocialGraph, layer: str, horizon: int | None = None) -> tuple[ForecastModel | None, str]:
    """``(model, note)``: the stored model when it fits this graph (and ``horizon`` if given), else ``None`` and why."""
    path = model_path(snapshot, layer)
    if not path.exists():
        return None, "no stored model"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if isinstance(data, dict) and data.get("format") != FORMAT_VERSION:     # before reading it as this one
            return None, "stored model was written by another graphcrm version; refitted"
        model = ForecastModel.from_dict(data)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        return None, f"stored model {path} unreadable ({exc.__class__.__name__}); refitted"
    if model.fingerprint != graph_fingerprint(graph):
        return None, "stored model was fitted on another version of the log; refitted"
    if model.validation["engagement"].get("top_k", 0) < MIN_VALIDATION_ACCOUNTS:     # stored by an older version
        return None, "stored model was validated on too few accounts; refitted"
    wanted = default_horizon(graph, layer=layer) if horizon is None else int(horizon)    # a stored 12 h fit is no default fit
    if model.horizon != wanted:
        return None, f"stored model forecasts {model.horizon} s ahead, not {wanted} s; refitted"
    return model, f"stored model {path}"
