"""External account ids <-> dense ``int32`` node indices."""

from __future__ import annotations

from typing import TYPE_CHECKING

import re

import numpy as np

from graphcrm.loaders.errors import InvalidInputError, NodeNotFoundError, ParameterError

if TYPE_CHECKING:
    import pandas as pd

INDEX_DTYPE = np.int32
MAX_NODES = np.iinfo(np.int32).max


class IdMap:
    """A sorted, immutable list of external ids; position = dense index.

    Ids are either all integers (stored as ``int64``) or all strings.  The
    dense index of an account is its rank in sorted order, so the map does
    not depend on the order in which sources listed the accounts.

    Parameters
    ----------
    ids : array-like
        Distinct external ids, sorted ascending.

    Examples
    --------
    >>> m = IdMap.from_unsorted([30, 10, 20, 10])
    >>> len(m), m.kind
    (3, 'int')
    >>> m.to_dense([20, 30]).tolist()
    [1, 2]
    >>> m.to_external([0]).tolist()
    [10]
    """

    __slots__ = ("_ids", "_index", "kind", "_keys")

    def __init__(self, ids):
        ids = np.asarray(ids)
        if ids.dtype.kind in "iu":
            ids = ids.astype(np.int64, copy=False)
            self.kind = "int"
        elif ids.dtype.kind in "OUT" or len(ids) == 0:
            ids = ids.astype(object) if len(ids) else np.empty(0, dtype=np.int64)
            self.kind = "str" if len(ids) else "int"
        else:
            raise InvalidInputError(
                f"account ids must be integers or strings, got dtype {ids.dtype}; "
                "convert them with .astype(str) or .astype('int64')"
            )
        if len(ids) > MAX_NODES:
            raise InvalidInputError(f"{len(ids)} accounts exceed the int32 index limit {MAX_NODES}")
        ids.flags.writeable = False
        self._ids = ids
        self._index = None
        self._keys = None

    @classmethod
    def from_unsorted(cls, ids) -> "IdMap":
        """Build from ids in any order, with repeats."""
        return cls(np.unique(np.asarray(ids)))

    def __len__(self) -> int:
        return len(self._ids)

    def __eq__(self, other) -> bool:
        return isinstance(other, IdMap) and self.kind == other.kind and np.array_equal(self._ids, other._ids)

    def __repr__(self) -> str:
        return f"IdMap(n={len(self)}, kind={self.kind!r})"

    @property
    def ids(self) -> np.ndarray:
        """External ids in dense-index order (read-only)."""
        return self._ids

    @property
    def nbytes(self) -> int:
        if self.kind == "int":
            return int(self._ids.nbytes)
        return int(self._ids.nbytes + sum(len(s) + 49 for s in self._ids[:1000]) * max(1, len(self) / 1000))

    def hash_keys(self) -> np.ndarray:
        """A 64-bit key per account from its external id alone (``pandas.util.hash_array``, fixed hash key),
        computed once: what a per-account or per-edge random draw is keyed by, so that it does not depend on
        which other accounts are in the graph, on their order or on the dense indices.

        Examples
        --------
        >>> a, b = IdMap(np.array([1, 2, 3])).hash_keys(), IdMap(np.array([2, 3, 4])).hash_keys()
        >>> bool(a[1] == b[0] and a[2] == b[1])
        True
        """
        if self._keys is None:
            import pandas as pd

            ids = self._ids           # text ids are Python strings already (no fixed-width copy)
            keys = np.ascontiguousarray(pd.util.hash_array(np.asarray(ids)), dtype=np.uint64)
            keys.flags.writeable = False
            self._keys = keys
        return self._keys

    def _pandas_index(self) -> pd.Index:
        if self._index is None:
            import pandas as pd

            self._index = pd.Index(self._ids)
        return self._index

    def lookup(self, external) -> np.ndarray:
        """Dense indices of ``external`` ids, ``-1`` where an id is unknown."""
        ext = np.asarray(external)
        if ext.ndim == 0:
            ext = ext.reshape(1)
        if self.kind == "int":
            if ext.dtype.kind not in "iu":      # text ("7", but "007", "+7" and "-0" are text ids), floats, mixed
                known, values = _int_ids(ext)
                out = np.full(len(ext), -1, dtype=INDEX_DTYPE)
                if known.any():
                    out[known] = self.lookup(values)
                return out
            pos = np.searchsorted(self._ids, ext)
            pos = np.minimum(pos, max(len(self._ids) - 1, 0))
            found = (len(self._ids) > 0) & (self._ids[pos] == ext) if len(self._ids) else np.zeros(len(ext), bool)
            return np.where(found, pos, -1).astype(INDEX_DTYPE)
        ext = np.array([str(x) for x in ext.tolist()], dtype=object)
        out = self._pandas_index().get_indexer(ext).astype(INDEX_DTYPE)
        missed = np.flatnonzero(out < 0)
        if len(missed):             # " 1988" from a command line or a pasted list: the readers store ids stripped
            stripped = np.array([s.strip() for s in ext[missed]], dtype=object)
            changed = stripped != ext[missed]
            if changed.any():
                out[missed[changed]] = self._pandas_index().get_indexer(stripped[changed])
        return out

    def to_dense(self, external) -> np.ndarray:
        """Dense indices of ``external`` ids; unknown ids raise.

        Raises
        ------
        NodeNotFoundError
            Naming up to five unknown ids.
        """
        external = _id_sequence(external)
        dense = self.lookup(external)
        if (dense < 0).any():
            ext = np.asarray(external).reshape(-1)
            missing = ext[dense < 0]
            shown = ", ".join(repr(x.item() if hasattr(x, "item") else x) for x in missing[:5])
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise NodeNotFoundError(f"account id(s) not in the graph: {shown}{more}")
        return dense

    def to_external(self, dense) -> np.ndarray:
        """External ids of dense indices (``0 .. len - 1``; anything else is an error, not a wrapped index)."""
        dense = np.asarray(dense, dtype=np.int64)
        if dense.size and (dense.min() < 0 or dense.max() >= len(self._ids)):
            bad = int(dense.reshape(-1)[(dense.reshape(-1) < 0) | (dense.reshape(-1) >= len(self._ids))][0])
            raise ParameterError(f"dense index {bad} is outside 0 .. {len(self._ids) - 1} (dense indices number "
                                 "the accounts; for external ids use index_of)")
        return self._ids[dense]

    def take(self, dense_sorted) -> "IdMap":
        """The id map of a subset of nodes (dense indices, ascending)."""
        return IdMap(self._ids[np.asarray(dense_sorted, dtype=np.int64)])


def _id_sequence(external):
    """``external`` as a flat sequence of ids: a list, array or Series as it is, a set in a fixed order, the
    ``account_id`` column of a table (a leader list, ``scores.top(k)``); one id alone as a list of one.

    >>> _id_sequence({3, 1, 2}), _id_sequence(7)
    ([1, 2, 3], [7])
    """
    import pandas as pd

    if isinstance(external, pd.DataFrame):
        if "account_id" not in external.columns:
            raise ParameterError("ids: a table needs an account_id column, got columns "
                                 f"{', '.join(map(str, external.columns[:6]))}")
        return external["account_id"].to_numpy()
    if isinstance(external, pd.Series):
        return external.to_numpy()
    if isinstance(external, (set, frozenset)):
        return sorted(external, key=lambda x: (type(x).__name__, x))
    if isinstance(external, (str, bytes, int, np.integer)):
        return [external]
    if isinstance(external, (list, tuple)):     # a list of lists, checked on its first item (no copy of the list)
        if len(external) and isinstance(external[0], (list, tuple, set, np.ndarray)):
            raise ParameterError(f"ids: expected a flat list of account ids, got a list of "
                                 f"{type(external[0]).__name__}s")
    elif np.ndim(external) > 1:
        raise ParameterError(f"ids: expected a flat list of account ids, got an array of shape "
                             f"{np.shape(external)}")
    return external


def id_list(external) -> list:
    """Account ids given to a function, as a list: a list, tuple, array or Series, a set (in a fixed order), the
    ``account_id`` column of a table (a leader list, ``scores.top(k)``), or one id alone.

    >>> id_list({"b", "a"}), id_list(7), id_list(np.array([3, 4]))
    (['a', 'b'], [7], [3, 4])
    """
    seq = _id_sequence(external)
    return seq.tolist() if isinstance(seq, np.ndarray) else list(seq)


_PLAIN_INT = re.compile(r"(0|-?[1-9][0-9]{0,18})")


def _int_ids(ext: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mask, int64 values)``: which of ``ext`` (floats, text, mixed) are integer ids by :func:`as_int_id`'s rule,
    and those ids -- vectorised for floats and all-text arrays (a partition file of a million rows)."""
    if ext.dtype.kind == "f":
        mask = np.isfinite(ext) & (np.floor(ext) == ext) & (np.abs(ext) < 2.0**63)
        return mask, ext[mask].astype(np.int64)
    if ext.dtype.kind == "O" and all(type(x) is int for x in ext.tolist()):      # Python ints (a list of ids)
        try:
            return np.ones(len(ext), dtype=bool), ext.astype(np.int64)
        except OverflowError:
            pass
    if ext.dtype.kind in "UO":                  # numpy parses; the id is an integer id if it prints back the same
        try:
            text = np.strings.strip(ext.astype(str))
            ints = text.astype(np.int64)
        except (ValueError, TypeError, OverflowError):
            pass                                # some value is not an integer at all: the slower paths below
        else:
            mask = ints.astype(str) == text     # "007", "+7", "-0" print as "7", "7", "0": text ids
            return mask, ints[mask]
    if ext.dtype.kind in "US" or (ext.dtype.kind == "O" and all(isinstance(x, str) for x in ext.tolist())):
        import pandas as pd

        text = pd.Series(ext.astype(str), dtype=object).str.strip()
        mask = text.str.fullmatch(_PLAIN_INT.pattern).to_numpy(dtype=bool)
        try:
            return mask, text[mask].astype(np.int64).to_numpy()
        except OverflowError:                  # 19 digits beyond int64: id by id below
            pass
    as_int = [as_int_id(x) for x in ext.tolist()]
    mask = np.array([v is not None for v in as_int], dtype=bool)
    return mask, np.array([v for v in as_int if v is not None], dtype=np.int64)


def as_int_id(value):
    """``value`` as an int64 id when it is one, else None: an integer, a whole float, or text that the loaders
    read as an integer id (``"7"``; not ``"007"``, ``"+7"`` or ``"-0"``, which a file keeps as text ids).

    Examples
    --------
    >>> [as_int_id(v) for v in (7, "7", " 7 ", 7.0, "007", "+7", "-0", "7.5", 7.5, "x", True)]
    [7, 7, 7, 7, None, None, None, None, None, None, None]
    """
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        out = int(value)
    elif isinstance(value, (float, np.floating)):
        if not float(value).is_integer():
            return None
        out = int(value)
    else:
        text = str(value).strip()
        if not _PLAIN_INT.fullmatch(text):
            return None
        out = int(text)
    return out if -(2**63) <= out < 2**63 else None
