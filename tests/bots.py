"""Planting labelled bot patterns into a real graph, for the audit's tests and benchmark.

Three patterns, each varied in size and mixed with real-looking behaviour so that no single artefact of the
generator separates them:

* **follow farm** -- accounts that follow many real accounts (preferentially popular ones, as bought followers
  do), some of them followed by other farm accounts or by a few real accounts, a share with a little real-looking
  activity; on a timestamped follow layer the follows come in runs.
* **retweet ring** -- groups of 4-30 accounts that retweet one member's post or a boosted real account together
  within seconds to a minute, campaign after campaign, each member joining most campaigns; they also retweet a few
  random real accounts at random times, and real accounts retweet some of them.
* **burst account** -- dormant accounts that fire 8-60 retweets at popular real accounts within a few minutes
  (up to 12, beyond the audit's 10-minute window), plus a few isolated actions at other times.

Rows are in source meaning (``actor, target``: "actor follows / retweets target"); bots get integer ids above
the graph's largest (or ``bot<k>`` on a graph with text ids).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from graphcrm.loaders.builder import GraphBuilder
from graphcrm.loaders.graph import SocialGraph


def source_rows(graph: SocialGraph) -> dict:
    """Every layer's rows in source meaning: ``layer -> DataFrame(actor, target[, time][, weight])``."""
    out = {}
    ids = graph.id_map.ids
    for name, lay in graph.layers.items():
        if lay.events is not None:
            ev = lay.events
            src, dst, time = ev.src, ev.dst, ev.time
            weight = ev.weight
        else:
            src, dst, weight = lay.edge_arrays()
            time = None
            weight = weight if lay.weighted else None
        actor, target = (dst, src) if lay.spec.direction == "reverse" else (src, dst)
        frame = pd.DataFrame({"actor": ids[actor], "target": ids[target]})
        if time is not None:
            frame["time"] = time
        if weight is not None:
            frame["weight"] = weight
        out[name] = frame
    return out


def build(graph: SocialGraph, extra: dict) -> SocialGraph:
    """``graph`` rebuilt with the extra rows (``layer -> DataFrame`` like :func:`source_rows`) added."""
    rows = source_rows(graph)
    builder = GraphBuilder()
    for name in sorted(set(rows) | set(extra)):
        parts = [f for f in (rows.get(name), extra.get(name)) if f is not None and len(f)]
        frame = pd.concat(parts, ignore_index=True)
        spec = graph.layers[name].spec if name in graph.layers else None
        kwargs = {} if spec is None else {"direction": spec.direction, "aggregate": spec.aggregate,
                                          "signed": spec.signed}
        builder.add_edges(name, frame.actor.to_numpy(), frame.target.to_numpy(),
                          frame.weight.to_numpy() if "weight" in frame else None,
                          time=frame.time.to_numpy() if "time" in frame else None, **kwargs)
    return builder.build()


class Planter:
    """Makes bot ids and rows; ``labels`` maps bot id -> pattern."""

    def __init__(self, graph: SocialGraph, seed: int):
        self.graph = graph
        self.rng = np.random.default_rng(seed)
        self.int_ids = graph.id_map.kind == "int"
        self.next = int(graph.id_map.ids.max()) + 1 if self.int_ids else 0
        self.labels: dict = {}
        self.rows: dict[str, list] = {}
        span = graph.time_span()
        self.t0, self.t1 = span if span else (1_341_100_000, 1_341_700_000)
        self.ids = graph.id_map.ids

    def new_bots(self, k: int, pattern: str) -> np.ndarray:
        if self.int_ids:
            ids = np.arange(self.next, self.next + k, dtype=np.int64)
        else:
            ids = np.array([f"bot{self.next + i}" for i in range(k)], dtype=object)
        self.next += k
        for b in ids:
            self.labels[b.item() if hasattr(b, "item") else b] = pattern
        return ids

    def add(self, layer: str, actor, target, time=None, weight=None) -> None:
        frame = pd.DataFrame({"actor": np.asarray(actor), "target": np.asarray(target)})
        if time is not None:
            frame["time"] = np.asarray(time, dtype=np.int64)
        if weight is not None:
            frame["weight"] = np.asarray(weight, dtype=np.float64)
        self.rows.setdefault(layer, []).append(frame)

    def popular(self, layer: str, k: int) -> np.ndarray:
        """``k`` real accounts drawn with probability ~ the attention they get on ``layer`` (plus uniform mix)."""
        lay = self.graph.layer(layer)
        got = (lay.out_degree() if lay.spec.direction == "reverse" else lay.in_degree()).astype(float) + 0.05
        p = got / got.sum()
        return self.ids[self.rng.choice(len(p), size=k, p=p)]

    def random_real(self, k: int) -> np.ndarray:
        return self.ids[self.rng.integers(0, len(self.ids), size=k)]

    def times(self, k: int) -> np.ndarray:
        return self.rng.integers(self.t0, self.t1, size=k)

    # -- patterns ----------------------------------------------------------------------------------------------
    def follow_farm(self, n_bots: int, *, layer: str = "follows", timed: bool = False, weight: float | None = None):
        """``n_bots`` farm accounts in farms of 5-50; each follows 40-400 real accounts."""
        made = 0
        while made < n_bots:
            size = int(min(n_bots - made, self.rng.integers(5, 51)))
            bots = self.new_bots(size, "follow_farm")
            made += size
            for b in bots:
                k = int(np.exp(self.rng.uniform(np.log(40), np.log(400))))
                targets = np.unique(np.concatenate([self.popular(layer, k // 2), self.random_real(k - k // 2)]))
                t = None
                if timed:                                    # follows in a few runs of minutes
                    runs = self.rng.integers(1, 4)
                    starts = self.times(runs)
                    t = starts[self.rng.integers(0, runs, len(targets))] + self.rng.integers(0, 900, len(targets))
                self.add(layer, np.repeat(b, len(targets)), targets, t,
                         None if weight is None else np.full(len(targets), weight))
            # farm accounts follow each other a little, and a few real accounts follow some of them back
            for b in bots:
                inner = bots[self.rng.random(len(bots)) < 0.15]
                inner = inner[inner != b]
                fans = self.random_real(int(self.rng.integers(0, 6)) if self.rng.random() < 0.4 else 0)
                src = np.concatenate([inner, fans])
                if len(src):
                    self.add(layer, src, np.repeat(b, len(src)), self.times(len(src)) if timed else None,
                             None if weight is None else np.full(len(src), weight))
        return self

    def retweet_ring(self, n_bots: int, *, layer: str = "retweets", weight: float | None = None):
        """``n_bots`` ring accounts in rings of 4-30 (``weight``: the value of each row, e.g. a rating)."""
        w = (lambda k: None) if weight is None else (lambda k: np.full(k, weight))
        made = 0
        while made < n_bots:
            size = int(min(n_bots - made, self.rng.integers(4, 31)))
            if size < 3:
                size = n_bots - made
            ring = self.new_bots(size, "retweet_ring")
            made += size
            campaigns = int(self.rng.integers(5, 25))
            joins = self.rng.uniform(0.6, 1.0, size)          # how often each member takes part
            boosted = self.popular(layer, max(1, campaigns // 2))
            for c in range(campaigns):
                target = ring[self.rng.integers(0, size)] if self.rng.random() < 0.5 else boosted[c % len(boosted)]
                t = int(self.times(1)[0])
                who = ring[(self.rng.random(size) < joins) & (ring != target)]
                delays = self.rng.exponential(self.rng.uniform(5, 40), len(who)).astype(np.int64)
                self.add(layer, who, np.repeat(target, len(who)), t + delays, w(len(who)))
            for b in ring:                                    # some normal-looking activity
                k = int(self.rng.integers(0, 11))
                if k:
                    self.add(layer, np.repeat(b, k), self.popular(layer, k), self.times(k), w(k))
                fans = self.random_real(int(self.rng.integers(0, 4)))
                if len(fans):
                    self.add(layer, fans, np.repeat(b, len(fans)), self.times(len(fans)), w(len(fans)))
        return self

    def burst(self, n_bots: int, *, layer: str = "retweets", weight: float | None = None):
        """``n_bots`` dormant accounts that fire 8-60 actions within 1-12 minutes."""
        w = (lambda k: None) if weight is None else (lambda k: np.full(k, weight))
        bots = self.new_bots(n_bots, "burst")
        for b in bots:
            k = int(self.rng.integers(8, 61))
            t = int(self.times(1)[0])
            span = 60 * int(self.rng.integers(1, 13))
            self.add(layer, np.repeat(b, k), self.popular(layer, k), t + self.rng.integers(0, span, k), w(k))
            extra = int(self.rng.integers(0, 5))
            if extra:
                self.add(layer, np.repeat(b, extra), self.popular(layer, extra), self.times(extra), w(extra))
        return self

    def result(self) -> tuple[SocialGraph, pd.Series]:
        """The graph with the bots, and ``account_id -> pattern`` ('' for real accounts) over all its accounts."""
        extra = {name: pd.concat(parts, ignore_index=True) for name, parts in self.rows.items()}
        g = build(self.graph, extra)
        labels = pd.Series("", index=g.id_map.ids, dtype=object)
        known = [b for b in self.labels if g.id_map.lookup(np.asarray([b]))[0] >= 0]
        labels.loc[known] = [self.labels[b] for b in known]
        return g, labels
