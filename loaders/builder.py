"""Assemble a :class:`~graphcrm.loaders.graph.SocialGraph` from tables in external ids.

The loaders parse files into columns and hand them to :class:`GraphBuilder`;
it owns the id map (one for all layers and node tables), turns
``(actor, target)`` rows into influence edges by each layer's direction,
aggregates duplicates and builds CSR + CSC in linear time.

Memory: the builder keeps the columns it is given until :meth:`build`; while
building it holds the int32 codes of the edge ends, the weights and one
temporary copy of a layer (see :func:`graphcrm.loaders._kernels._build_layer`),
so the peak stays below three times the finished graph.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from graphcrm.loaders import _kernels
from graphcrm.loaders.errors import InvalidInputError, ParameterError
from graphcrm.loaders.graph import EventLog, Layer, SocialGraph, _layer_from_events
from graphcrm.loaders.idmap import INDEX_DTYPE, IdMap
from graphcrm.loaders.layers import SELF_LOOP_POLICIES, LayerSpec, counts_repeats, spec_for


@dataclass
class _Part:
    spec: LayerSpec
    actor: object
    target: object
    weight: np.ndarray | None
    time: np.ndarray | None
    sentiment: np.ndarray | None
    source: str
    extra: pa.Table | None = None


#: per-event message columns an event log may carry (see EventLog.extra), in this order
MESSAGE_COLUMNS = ("topics", "message_id", "parent_id", "text")


def _message_type(name: str) -> pa.DataType:
    return pa.list_(pa.string()) if name == "topics" else pa.string()


def _message_table(extra, n: int, source: str) -> pa.Table | None:
    """Message columns (dict of role -> values, or a table) as one arrow table of the fixed schema."""
    if extra is None:
        return None
    if isinstance(extra, pa.Table):
        extra = {name: extra.column(name) for name in extra.column_names}
    unknown = sorted(set(extra) - set(MESSAGE_COLUMNS))
    if unknown:
        raise ParameterError(f"{source}: unknown message column(s) {unknown}; they are {', '.join(MESSAGE_COLUMNS)}")
    cols = {}
    for name in MESSAGE_COLUMNS:
        if extra.get(name) is None:
            continue
        values = extra[name]
        typ = _message_type(name)
        if isinstance(values, (pa.Array, pa.ChunkedArray)):
            arr = values.cast(typ)
        else:
            values = values.tolist() if hasattr(values, "tolist") else list(values)
            if name == "topics":
                values = [None if v is None else [str(t) for t in v] for v in values]
            else:
                values = [None if v is None or (isinstance(v, float) and v != v) else str(v) for v in values]
            arr = pa.array(values, type=typ)
        if isinstance(arr, pa.ChunkedArray):
            arr = arr.combine_chunks()
        if len(arr) != n:
            raise InvalidInputError(f"{source}: {len(arr)} {name} values for {n} rows")
        cols[name] = arr
    return pa.table(cols) if cols else None


def _concat_messages(tables: list, lengths: list[int]) -> pa.Table | None:
    """One message table for all pieces of a layer (columns a piece lacks are null), or None."""
    if all(t is None for t in tables):
        return None
    names = [c for c in MESSAGE_COLUMNS if any(t is not None and c in t.column_names for t in tables)]
    full = []
    for t, n in zip(tables, lengths):
        cols = {c: (t.column(c) if t is not None and c in t.column_names else pa.nulls(n, _message_type(c)))
                for c in names}
        full.append(pa.table(cols))
    out = pa.concat_tables(full) if len(full) > 1 else full[0]
    return out.combine_chunks()


@dataclass
class _NodePart:
    ids: object
    table: pd.DataFrame
    source: str


_INT64_MAX = 2**63 - 1


def _clean_ids(values, source: str, role: str):
    """An id column as the builder takes it, or an :class:`InvalidInputError` naming the row: no missing id
    (``None`` / ``NaN`` would become an account named "nan"), integral floats as integers (``2.0`` is account
    2, not a second account "2.0"), no unsigned id past int64 (it would wrap to a negative id).

    >>> _clean_ids(pd.Series([1.0, 3.0]), "<edges>", "actor").tolist()
    [1, 3]
    >>> _clean_ids([1, 2.0, "a"], "<edges>", "actor").tolist()
    [1, 2, 'a']
    """
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        if values.null_count:
            row = int(np.flatnonzero(np.asarray(values.is_null().to_numpy(zero_copy_only=False)))[0])
            raise InvalidInputError(f"{source}, row {row + 1}, field '{role}': missing account id")
        return values
    if isinstance(values, pd.Series):
        arr = values.to_numpy()
    elif isinstance(values, (list, tuple)):     # numpy would turn [1, 2.0, "a"] into the strings '1', '2.0', 'a'
        arr = np.asarray(values)
        if arr.dtype.kind in "US":
            arr = np.array(values, dtype=object)
    else:
        arr = np.asarray(values)
    if arr.dtype.kind == "u" and arr.dtype.itemsize >= 8 and len(arr) and int(arr.max()) > _INT64_MAX:
        row = int(np.argmax(arr > _INT64_MAX))
        raise InvalidInputError(f"{source}, row {row + 1}, field '{role}': account id {int(arr[row])} does not fit "
                                "in int64 (pass hashed ids as text)")
    if arr.dtype.kind in "iuUS":
        return arr
    missing = np.asarray(pd.isna(arr), dtype=bool)
    if missing.any():
        row = int(np.argmax(missing))
        raise InvalidInputError(f"{source}, row {row + 1}, field '{role}': missing account id")
    if arr.dtype.kind == "f":
        whole = arr == np.round(arr)
        if not whole.all() or (len(arr) and np.abs(arr).max() >= 2.0**63):
            row = int(np.argmax(~whole | (np.abs(arr) >= 2.0**63)))
            raise InvalidInputError(f"{source}, row {row + 1}, field '{role}': account id {arr[row]!r} is not an "
                                    "integer")
        return arr.astype(np.int64)
    mixed = ("floating", "mixed-integer-float", "mixed-integer", "mixed")
    if arr.dtype.kind == "O" and pd.api.types.infer_dtype(arr, skipna=False) in mixed:
        arr = np.array([int(v) if isinstance(v, (float, np.floating)) and float(v).is_integer() else v
                        for v in arr.tolist()], dtype=object)
        if all(isinstance(v, (int, np.integer)) for v in arr.tolist()):
            return arr.astype(np.int64)
    return arr


def release_arrow_memory() -> None:
    """Hand the memory arrow's pool keeps after a parse or a build back to the system.

    The pool (mimalloc or jemalloc) holds freed pages for reuse; after a load of millions of rows that is a
    few hundred MiB the rest of the run never asks for again.
    """
    pa.default_memory_pool().release_unused()


def _id_kind(ids) -> str:
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        t = ids.type
        return "int" if pa.types.is_integer(t) else "str"
    arr = ids.to_numpy() if isinstance(ids, pd.Series) else np.asarray(ids)
    if arr.dtype.kind in "iu":
        return "int"
    if arr.dtype.kind == "O" and len(arr) and all(isinstance(x, (int, np.integer)) for x in arr[:1000]):
        if all(isinstance(x, (int, np.integer)) for x in arr):
            return "int"
    return "str"


def _int_chunks(ids) -> list[np.ndarray]:
    """int64 numpy views of an id column, chunk by chunk (no concatenation of arrow chunks)."""
    if isinstance(ids, pa.ChunkedArray):
        return [np.ascontiguousarray(c.to_numpy(), dtype=np.int64) for c in ids.chunks if len(c)]
    if isinstance(ids, pa.Array):
        return [np.ascontiguousarray(ids.to_numpy(), dtype=np.int64)]
    arr = ids.to_numpy() if isinstance(ids, pd.Series) else np.asarray(ids)
    return [np.ascontiguousarray(arr, dtype=np.int64)]


def _factorize(ids, kind: str) -> tuple[np.ndarray, np.ndarray]:
    """``(codes int32, uniques)``: ``uniques[codes]`` reproduces ``ids``."""
    if kind == "int":
        state = _kernels.FactorizeState()
        codes = np.empty(len(ids), dtype=INDEX_DTYPE)
        offset = 0
        for chunk in _int_chunks(ids):
            state.feed(chunk, codes[offset : offset + len(chunk)])
            offset += len(chunk)
        return codes, state.distinct()
    if isinstance(ids, (pa.Array, pa.ChunkedArray)):
        if not pa.types.is_string(ids.type) and not pa.types.is_large_string(ids.type):
            ids = pc.cast(ids, pa.string())
        enc = pc.dictionary_encode(ids)
        if isinstance(enc, pa.ChunkedArray):
            enc = enc.unify_dictionaries().combine_chunks() if enc.num_chunks > 1 else enc.chunk(0)
        codes = np.array(enc.indices.to_numpy(zero_copy_only=False), dtype=INDEX_DTYPE)  # writable copy
        return codes, enc.dictionary          # text stays in arrow: no Python string per distinct id
    arr = ids.to_numpy() if isinstance(ids, pd.Series) else np.asarray(ids)
    if arr.dtype.kind != "O":
        arr = arr.astype(str).astype(object)
    else:
        arr = np.array([str(x) for x in arr], dtype=object)
    codes, uniques = pd.factorize(arr)
    try:
        return codes.astype(INDEX_DTYPE), pa.array(uniques, type=pa.large_string())
    except UnicodeEncodeError:                    # a lone surrogate ('\ud800'): no text a file could hold
        bad = next(u for u in uniques if not _encodes(u))
        raise InvalidInputError(f"account id {bad!r} is not valid Unicode text (a lone surrogate); ids must be "
                                "text a UTF-8 file could hold") from None


def _encodes(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


#: integer ids map through a direct-address table (one int32 slot, and one byte while marking, per value
#: between the smallest and the largest id) when that table has at most this many slots per id read -- 10
#: bytes per id at most, less than the 16 bytes per row of the two int64 id columns themselves -- or at most
#: ``DIRECT_MIN_SLOTS``; wider spans (e.g. 64-bit account
#: ids) take the hash factorisation.  Either way the dense id is the rank of the id among all distinct ids.
DIRECT_SLOTS_PER_ID = 2
DIRECT_MIN_SLOTS = 1 << 16
#: from this many ids on, the direct-address passes run on the builder's two threads
DIRECT_THREADED_IDS = 1 << 21


def _split_even(items: list, sizes: list[int], parts: int) -> list[list]:
    """``items`` cut into ``parts`` consecutive runs of about equal total size."""
    total = sum(sizes)
    runs, run, acc = [], [], 0
    for item, size in zip(items, sizes):
        run.append(item)
        acc += size
        if acc >= total * (len(runs) + 1) / parts and len(runs) < parts - 1:
            runs.append(run)
            run = []
    runs.append(run)
    return [r for r in runs if r]


def _direct_int_codes(columns: list, pool):
    """Dense ids of integer id columns through a direct-address table, or ``None`` when the ids span too wide.

    Returns ``(all_ids, codes)``: the distinct ids sorted (int64) and, per column, int32 dense ids -- the
    rank of each id among ``all_ids``, exactly what :func:`_factorize` + :func:`_global_ranks` give.  Three
    passes over the ids (min/max, mark, look up), each split over the pool's threads by arrow chunk.
    """
    chunked = [_int_chunks(c) for c in columns]
    work = []                                      # (keys, codes slice) for every non-empty chunk
    codes = []
    for chunks, col in zip(chunked, columns):
        out = np.empty(len(col), dtype=INDEX_DTYPE)
        codes.append(out)
        offset = 0
        for chunk in chunks:
            work.append((chunk, out[offset : offset + len(chunk)]))
            offset += len(chunk)
    total = sum(len(k) for k, _ in work)
    if total == 0:
        return None
    if total < DIRECT_THREADED_IDS:   # small inputs: handing work to threads costs more than it saves
        runs, mapper = [work], map
    else:   # more runs than threads: a thread that the shared machine holds up leaves its later runs to the other
        runs, mapper = _split_even(work, [len(k) for k, _ in work], 8), pool.map

    def bounds(run):
        lows, highs = zip(*(_kernels._min_max(k) for k, _ in run))
        return int(min(lows)), int(max(highs))

    found = list(mapper(bounds, runs))
    low, high = min(b[0] for b in found), max(b[1] for b in found)
    span = high - low + 1
    if span > max(DIRECT_SLOTS_PER_ID * total, DIRECT_MIN_SLOTS):
        return None
    marks = np.zeros(span, dtype=np.uint8)        # one byte a slot while marking: stays in cache longer
    low = np.int64(low)

    def mark(run):
        for keys, _ in run:
            _kernels._mark_present(keys, low, marks)

    list(mapper(mark, runs))
    table, all_ids = _kernels._rank_present(marks, low)

    def lookup(run):
        for keys, out in run:
            _kernels._lookup_dense(keys, low, table, out)

    list(mapper(lookup, runs))
    return all_ids, codes


def _global_ranks(uniques: list[np.ndarray], kind: str, pool) -> tuple[np.ndarray, list[np.ndarray]]:
    """All distinct ids sorted, and for each local uniques array the rank of each entry.

    Integers: sort each local array (on the pool's threads), merge them
    linearly, then rank by a linear walk -- no random-access binary search.
    """
    if not uniques:
        return np.empty(0, dtype=np.int64 if kind == "int" else object), []
    if kind == "int":
        orders = list(pool.map(lambda u: np.argsort(u, kind="stable"), uniques))
        sorted_parts = [u[o] for u, o in zip(uniques, orders)]
        universe = sorted_parts[0]
        for part in sorted_parts[1:]:
            universe = _kernels._merge_unique(universe, part)
        ranks = [_kernels._rank_in(sp, o, universe) for sp, o in zip(sorted_parts, orders)]
        return universe, ranks
    # Text: in arrow (hash unique, one sort, hash look-ups).  Sorting UTF-8 bytes gives code-point order,
    # the order of Python's and numpy's string comparison, so the merge of appended days keeps it
    # ids are trimmed as the readers trim them (" alice " is alice), and an empty id is no account
    texts = [pc.utf8_trim_whitespace(pc.cast(u, pa.large_string())) for u in uniques]
    universe = pc.unique(pa.chunked_array(texts, type=pa.large_string()))
    if pc.any(pc.equal(pc.utf8_length(universe), 0)).as_py():
        raise InvalidInputError("an account id is empty (or only spaces); every row needs an actor and a target")
    nul = pc.match_substring(universe, "\x00")
    if pc.any(nul).as_py():
        bad = universe.filter(nul)[0].as_py()
        raise InvalidInputError(f"account id {bad!r} contains a NUL character (\\x00); ids are text without one")
    universe = universe.take(pc.array_sort_indices(universe))
    ranks = [np.asarray(pc.index_in(t, value_set=universe).to_numpy(zero_copy_only=False), dtype=INDEX_DTYPE)
             for t in texts]
    return universe.to_numpy(zero_copy_only=False), ranks


class GraphBuilder:
    """Collect edges, events and node tables; build one :class:`SocialGraph`.

    Parameters
    ----------
    self_loops : {"drop", "keep"}, default "drop"
        What to do with rows whose actor and target are the same account.
        Dropped self-loops are counted in each layer's ``build_report``.

    Examples
    --------
    >>> g = (GraphBuilder()
    ...      .add_edges("follows", [1, 2, 2], [2, 3, 3])      # 1 follows 2, 2 follows 3 (twice)
    ...      .add_events("mentions", [3], [1], time=[1341100972])
    ...      .build())
    >>> g
    SocialGraph(3 nodes; follows: 2 edges; mentions: 1 edges)
    >>> g.layer("follows").build_report["duplicates_aggregated"]
    1
    """

    def __init__(self, *, self_loops: str = "drop"):
        if self_loops not in ("drop", "keep"):
            raise ParameterError(
                f"self_loops must be 'drop' or 'keep' here, got {self_loops!r} "
                f"(the loaders also accept 'error'; policies: {SELF_LOOP_POLICIES})"
            )
        self.self_loops = self_loops
        self._parts: list[_Part] = []
        self._nodes: list[_NodePart] = []
        self._specs: dict[str, LayerSpec] = {}

    def add_edges(
        self,
        layer: str,
        actor,
        target,
        weight=None,
        *,
        time=None,
        sentiment=None,
        direction: str | None = None,
        aggregate: str | None = None,
        signed: bool | None = None,
        undirected: bool | None = None,
        source: str = "<edges>",
        extra=None,
    ) -> "GraphBuilder":
        """Add rows ``(actor, target[, weight][, time])`` to ``layer``.

        Parameters
        ----------
        layer : str
            Layer name; its conventional :class:`LayerSpec` applies.
        actor, target : array-like
            External ids of the row ends, in the source's meaning ("actor
            follows / retweets / mentions target").
        weight : array-like of float, optional
            Per-row weight; omitted means each row counts 1.
        time : array-like of int, optional
            Unix seconds; given times keep an event log for the layer.
        sentiment : array-like of float, optional
            Per-row sentiment or sign (requires ``time``).
        direction, aggregate, signed : optional
            Override the layer's conventional spec.
        undirected : bool, optional
            Each row is a tie both ways; duplicates (a row listed as ``a b``
            and ``b a``) then keep the largest weight unless ``aggregate``
            says otherwise.
        source : str
            A label for messages (usually the file name).
        extra : dict or pyarrow.Table, optional
            Per-row message columns (requires ``time``): ``topics`` (lists of
            strings), ``message_id``, ``parent_id``, ``text`` (strings); kept
            in the layer's event log (:attr:`EventLog.extra`).
        """
        spec = self._specs.get(layer) or spec_for(layer)
        if undirected and aggregate is None and not spec.undirected:
            aggregate = "max"                 # a tie listed both ways is one tie
        spec = spec.with_overrides(direction=direction, aggregate=aggregate, signed=signed, undirected=undirected)
        if layer in self._specs and self._specs[layer] != spec:
            raise ParameterError(f"layer '{layer}' was added with {self._specs[layer]} and now with {spec}")
        self._specs[layer] = spec
        n = len(actor)
        if len(target) != n:
            raise InvalidInputError(f"{source}: {n} actors but {len(target)} targets")
        actor, target = _clean_ids(actor, source, "actor"), _clean_ids(target, source, "target")

        def column(values, dtype, what):
            if values is None:
                return None
            arr = values.to_numpy() if isinstance(values, (pd.Series, pa.Array, pa.ChunkedArray)) else values
            arr = np.ascontiguousarray(arr, dtype=dtype)
            if len(arr) != n:
                raise InvalidInputError(f"{source}: {len(arr)} {what} values for {n} rows")
            return arr

        if sentiment is not None and time is None:
            raise InvalidInputError(f"{source}: sentiment needs timestamps (an event log)")
        if extra is not None and time is None:
            raise InvalidInputError(f"{source}: message columns (topics, text, ids) need timestamps (an event log)")
        self._parts.append(
            _Part(
                spec,
                actor,
                target,
                column(weight, np.float64, "weight"),
                column(time, np.int64, "time"),
                column(sentiment, np.float64, "sentiment"),
                source,
                _message_table(extra, n, source),
            )
        )
        return self

    def add_events(self, layer: str, actor, target, *, time, weight=None, sentiment=None, **kwargs) -> "GraphBuilder":
        """Add timestamped interaction events (see :meth:`add_edges`)."""
        return self.add_edges(layer, actor, target, weight, time=time, sentiment=sentiment, **kwargs)

    def add_nodes(self, ids, attributes: pd.DataFrame | None = None, *, source: str = "<nodes>") -> "GraphBuilder":
        """Add accounts (possibly without edges) and their attributes.

        ``attributes`` has one row per id, in the same order.  A column seen
        in an earlier node table is overwritten where the later one has a
        value.
        """
        if attributes is None or attributes.shape[1] == 0:      # an id-only node table: accounts, no attributes
            attributes = pd.DataFrame(index=range(len(ids)))
        attributes = attributes.reset_index(drop=True)
        if len(attributes) != len(ids):
            raise InvalidInputError(f"{source}: {len(ids)} ids but {len(attributes)} attribute rows")
        self._nodes.append(_NodePart(_clean_ids(ids, source, "id"), attributes, source))
        return self

    # -- building ----------------------------------------------------------------
    def build(self, metadata: dict | None = None) -> SocialGraph:
        """Build the graph; the builder is emptied (its memory released)."""
        id_columns = [(p, "actor") for p in self._parts] + [(p, "target") for p in self._parts]
        kinds = ({_id_kind(getattr(p, a)) for p, a in id_columns if len(getattr(p, a))}      # an empty column
                 | {_id_kind(np_.ids) for np_ in self._nodes if len(np_.ids)})                # has no kind
        kind = "str" if "str" in kinds else "int"

        # 1. dense ids, the rank of each id among all distinct ids: integer ids through a direct-address table
        # when their span allows it; otherwise factorise every id column locally, then rank all distinct ids
        # globally.  The int kernels release the GIL: the work runs on two threads
        with ThreadPoolExecutor(max_workers=2) as pool:
            direct = None
            if kind == "int":
                columns = [getattr(p, a) for p in self._parts for a in ("actor", "target")]
                direct = _direct_int_codes(columns + [npart.ids for npart in self._nodes], pool)
                del columns
            if direct is not None:
                all_ids, dense = direct
                local = []
                for i, part in enumerate(self._parts):
                    part.actor = part.target = None  # release the external-id columns
                    local.append([dense[2 * i], None, dense[2 * i + 1], None])
                node_codes = [[codes, None] for codes in dense[2 * len(self._parts):]]
                ranks = [None] * (2 * len(local) + len(node_codes))
            else:
                local = []
                for part in self._parts:
                    fa = pool.submit(_factorize, part.actor, kind)
                    ct, ut = _factorize(part.target, kind)
                    ca, ua = fa.result()
                    part.actor = part.target = None  # release the external-id columns
                    local.append([ca, ua, ct, ut])
                node_codes = [list(_factorize(npart.ids, kind)) for npart in self._nodes]
                uniques = [u for t in local for u in (t[1], t[3])] + [u for _, u in node_codes]
                all_ids, ranks = _global_ranks(uniques, kind, pool)
        id_map = IdMap(all_ids)
        n = len(id_map)
        rank_iter = iter(ranks)
        for entry in local:  # replace each local uniques array by its global ranks (None: codes are dense)
            entry[1] = next(rank_iter)
            entry[3] = next(rank_iter)
        for entry in node_codes:
            entry[1] = next(rank_iter)

        def to_dense(codes, rank):
            return codes if rank is None else _kernels._remap_codes(codes, rank)

        # 2. one layer at a time: influence direction, then CSR/CSC
        by_layer: dict[str, list] = {}
        for part, (actor_codes, actor_rank, target_codes, target_rank) in zip(self._parts, local):
            actor, target = to_dense(actor_codes, actor_rank), to_dense(target_codes, target_rank)
            src, dst = (actor, target) if part.spec.direction == "forward" else (target, actor)
            by_layer.setdefault(part.spec.name, []).append((src, dst, part))
        local.clear()
        layers = {}
        for name in sorted(by_layer):
            layers[name] = self._build_one(n, self._specs[name], by_layer.pop(name))
        nodes = self._node_table(n, node_codes, to_dense)
        sources = sorted({p.source for p in self._parts} | {p.source for p in self._nodes})
        self._parts, self._nodes = [], []
        meta = {"sources": sources, **(metadata or {})}
        release_arrow_memory()
        return SocialGraph(id_map, layers, nodes, meta)

    def _build_one(self, n, spec, pieces) -> Layer:
        timed = [p.time is not None for _, _, p in pieces]
        if any(timed) and not all(timed):
            raise InvalidInputError(
                f"layer '{spec.name}': some sources have timestamps and some do not "
                f"({', '.join(p.source for _, _, p in pieces)}); load them into separate layers"
            )
        if spec.undirected and any(timed):
            raise InvalidInputError(f"layer '{spec.name}': an undirected layer cannot keep a timestamped event log "
                                    f"({', '.join(p.source for _, _, p in pieces)}); load the events into their "
                                    "own layer")
        weighted = any(p.weight is not None for _, _, p in pieces) or all(timed)
        cat = (lambda xs: xs[0] if len(xs) == 1 else np.concatenate(xs))  # noqa: E731
        src = cat([s for s, _, _ in pieces])
        dst = cat([d for _, d, _ in pieces])
        weight = None
        if weighted:
            weight = cat([p.weight if p.weight is not None else np.ones(len(s)) for s, _, p in pieces])
        if spec.undirected:                     # both arcs of every tie (a self-tie is one arc)
            two = src != dst
            src, dst = np.concatenate([src, dst[two]]), np.concatenate([dst, src[two]])
            weight = None if weight is None else np.concatenate([weight, weight[two]])
        if not all(timed):
            layer = Layer.from_edges(n, src, dst, weight, spec=spec, self_loops=self.self_loops, check_ids=False)
            if weight is None and counts_repeats(spec) and layer.build_report["duplicates_aggregated"]:
                # interaction rows without weights count one each: a tie listed three times weighs 3 (its
                # count), which needs weights -- only a layer that has repeated ties pays for them
                layer = Layer.from_edges(n, src, dst, np.ones(len(src)), spec=spec, self_loops=self.self_loops,
                                         check_ids=False)
            return layer
        time = cat([p.time for _, _, p in pieces])
        has_sent = any(p.sentiment is not None for _, _, p in pieces)
        sentiment = cat([p.sentiment if p.sentiment is not None else np.full(len(s), np.nan) for s, _, p in pieces]) if has_sent else None
        extra = _concat_messages([p.extra for _, _, p in pieces], [len(s) for s, _, _ in pieces])
        n_rows = len(src)
        if self.self_loops == "drop":
            keep = src != dst
            if not keep.all():
                src, dst, time = src[keep], dst[keep], time[keep]
                weight = weight[keep] if weight is not None else None
                sentiment = sentiment[keep] if sentiment is not None else None
                extra = extra.filter(pa.array(keep)) if extra is not None else None
        keys = [k for k in (sentiment, weight) if k is not None] + [dst, src, time]
        order = np.lexsort(keys)
        pick = lambda a: None if a is None else a[order]  # noqa: E731
        all_ones = weight is not None and bool((weight == 1.0).all())
        extra = extra.take(pa.array(order)) if extra is not None else None
        events = EventLog(src[order], dst[order], time[order], None if all_ones else pick(weight), pick(sentiment),
                          extra)
        layer = _layer_from_events(n, spec, events, weighted=True)
        report = dict(layer.build_report, rows=n_rows, self_loops=n_rows - len(src) + layer.build_report["self_loops"],
                      self_loops_dropped=n_rows - len(src))
        return Layer(spec, layer.out_indptr, layer.out_indices, layer.out_weights, layer.in_indptr,
                     layer.in_indices, layer.in_weights, events, report)

    def _node_table(self, n, node_codes, to_dense) -> pd.DataFrame:
        table = pd.DataFrame(index=pd.RangeIndex(n))
        for npart, (codes, uniq) in zip(self._nodes, node_codes):
            dense = to_dense(codes, uniq)
            if len(np.unique(dense)) != len(dense):
                raise InvalidInputError(f"{npart.source}: the same account id appears on several rows")
            attrs = npart.table.copy().convert_dtypes()  # nullable dtypes: integers stay integers
            attrs.index = dense
            attrs = attrs.reindex(pd.RangeIndex(n))
            for col in attrs.columns:
                if col not in table:
                    table[col] = attrs[col]
                elif table[col].dtype == attrs[col].dtype:
                    table[col] = attrs[col].combine_first(table[col])
                elif _numeric(table[col]) and _numeric(attrs[col]):     # 5 in one table, 7.5 in another: Float64
                    table[col] = attrs[col].astype("Float64").combine_first(table[col].astype("Float64"))
                else:  # the same attribute as numbers in one table and text in another: text
                    table[col] = _as_text_column(attrs[col]).combine_first(_as_text_column(table[col]))
        return table


def _numeric(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype)


def _as_text_column(values: pd.Series) -> pd.Series:
    return values.astype("string")
