"""Declarative checks of the pipeline and segments TOML files.

Each table of a configuration file (``[steps.leaders]``, one ``[[segment]]`` of a kind, ...) has a schema:
key -> :class:`Key` (type, range or choices, default).  :func:`check_table` checks a table once, when the
file is read, so that a typo or a wrong type is a one-line :class:`~graphcrm.loaders.errors.ConfigError`
naming the file, the key and what was expected -- never a traceback in the middle of a run.

TOML types are taken as they are: ``"false"`` is text, not a boolean, ``true`` is not an integer and ``2.5``
is not an integer either.
"""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Callable

from graphcrm.loaders.errors import ConfigError, GraphCRMError


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)      # bool is a subclass of int


def _is_number(value) -> bool:
    return (_is_int(value) or isinstance(value, float)) and math.isfinite(value)


def _is_id(value) -> bool:
    return _is_int(value) or (isinstance(value, str) and value != "")


@dataclass(frozen=True)
class Key:
    """One setting of a configuration table.

    Parameters
    ----------
    type : str
        ``int``, ``number`` (integer or float), ``bool``, ``text``, ``texts`` (text or list of text),
        ``choice`` (one of ``choices``), ``path`` (text), ``ids`` (list of account ids), ``path_or_ids``,
        ``value`` (a scalar ``parse`` accepts) or ``any`` (checked by the caller).
    default : object, optional
        The value when the key is absent (None: absent means "not set").
    low, high : float, optional
        Inclusive bounds of a number.
    above : float, optional
        Exclusive lower bound of a number.
    choices : tuple of str
        The allowed values of a ``choice``.
    required : bool
        The key must be given.
    parse : callable, optional
        Called with the value after the type check; a :class:`GraphCRMError` it raises becomes the message
        (durations, dates).
    what : str
        What a ``value`` is, for messages ("a duration like '2d'").

    Examples
    --------
    >>> Key("int", low=1).problem(True)
    'expected an integer >= 1, got True'
    >>> Key("choice", choices=("leiden", "louvain")).problem("kmeans")
    "expected one of 'leiden', 'louvain', got 'kmeans'"
    """

    type: str
    default: object = None
    low: float | None = None
    high: float | None = None
    above: float | None = None
    choices: tuple = ()
    required: bool = False
    parse: Callable | None = None
    what: str = ""

    def expected(self) -> str:
        """What the key takes, in words (for messages and the README's tables)."""
        if self.type == "choice":
            return "one of " + ", ".join(repr(c) for c in self.choices)
        if self.type == "bool":
            return "true or false (a TOML boolean, not text)"
        noun = {"int": "an integer", "number": "a number", "text": "text", "texts": "text or a list of text",
                "path": "a file path (text)", "ids": "a list of account ids",
                "path_or_ids": "a file path (text) or a list of ids", "value": self.what, "any": self.what}[self.type]
        bounds = []
        if self.above is not None:
            bounds.append(f"> {self.above:g}")
        if self.low is not None:
            bounds.append(f">= {self.low:g}")
        if self.high is not None:
            bounds.append(f"<= {self.high:g}")
        return noun + (" " + " and ".join(bounds) if bounds else "")

    def problem(self, value) -> str | None:
        """Why ``value`` is not valid for this key (None: it is)."""
        kind = self.type
        ok = {"int": _is_int, "number": _is_number, "bool": lambda v: isinstance(v, bool),
              "text": lambda v: isinstance(v, str) and v != "",
              "texts": lambda v: (isinstance(v, str) and v != "") or (isinstance(v, list) and v != []
                                                                        and all(isinstance(t, str) for t in v)),
              "choice": lambda v: isinstance(v, str) and v in self.choices,
              "path": lambda v: isinstance(v, str) and v != "",
              "ids": lambda v: isinstance(v, list) and all(_is_id(i) for i in v),
              "path_or_ids": lambda v: (isinstance(v, str) and v != "") or (isinstance(v, list)
                                                                           and all(_is_id(i) for i in v)),
              "value": lambda v: not isinstance(v, (bool, dict, list)), "any": lambda v: True}[kind]
        if not ok(value) or (kind in ("int", "number") and not self._in_range(value)):
            return f"expected {self.expected()}, got {value!r}"
        if self.parse is not None:
            try:
                self.parse(value)
            except GraphCRMError as exc:
                return str(exc)
        return None

    def _in_range(self, value) -> bool:
        return ((self.low is None or value >= self.low) and (self.high is None or value <= self.high)
                and (self.above is None or value > self.above))


def unknown_key(source, key: str, name: str, allowed, what: str = "key", context: str = "") -> ConfigError:
    """The error for ``name`` (at ``key``) not in ``allowed``: a close match is suggested.

    Examples
    --------
    >>> str(unknown_key("p.toml", "steps.leaders.topp", "topp", ["top", "method"]))
    "p.toml, key 'steps.leaders.topp': unknown key; did you mean 'top'? (expected one of: top, method)"
    >>> str(unknown_key("p.toml", "steps.rank", "rank", ["link", "leaders"], what="step"))
    "p.toml, key 'steps.rank': unknown step (expected one of: link, leaders)"
    """
    close = difflib.get_close_matches(str(name), [str(a) for a in allowed], n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return ConfigError(source, key, f"{context}unknown {what}{hint} (expected one of: {', '.join(map(str, allowed))})")


def check_table(table: dict, schema: dict, *, source, prefix: str, context: str = "") -> dict:
    """``table`` checked against ``schema`` (key -> :class:`Key`); a copy with the defaults filled in.

    Parameters
    ----------
    table : dict
        The parsed TOML table.
    schema : dict
        Every key the table may hold.
    source : str or Path
        The configuration file (for messages).
    prefix : str
        The table's key path, e.g. ``steps.leaders``; keys are named ``prefix.key``.
    context : str
        Put before each message, e.g. ``"segment 'vips': "``.

    Raises
    ------
    ConfigError
        An unknown key (with a suggestion when one is close), a missing required key, a value of the wrong
        type, out of range or not among the choices.

    Examples
    --------
    >>> check_table({"top": 5}, {"top": Key("int", default=50, low=1), "method": Key("text", default="auto")},
    ...             source="p.toml", prefix="steps.leaders")
    {'top': 5, 'method': 'auto'}
    """
    for name in table:
        if name not in schema:
            raise unknown_key(source, f"{prefix}.{name}", name, list(schema), context=context)
    out = dict(table)
    for name, key in schema.items():
        if name not in table:
            if key.required:
                raise ConfigError(source, f"{prefix}.{name}", f"{context}missing: expected {key.expected()}")
            if key.default is not None:
                out[name] = key.default
            continue
        problem = key.problem(table[name])
        if problem is not None:
            problem = problem.removeprefix(f"{name}: ")          # the key is named already
            raise ConfigError(source, f"{prefix}.{name}", context + problem)
    return out

