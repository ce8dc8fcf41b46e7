"""The one exception hierarchy of graphcrm.

Every error a user can cause derives from :class:`GraphCRMError`; the CLI turns
these into one readable line and exit code 1 (domain errors) or 2 (usage /
configuration errors).  Anything else that escapes is a bug and keeps its
traceback.
"""

from __future__ import annotations


class GraphCRMError(Exception):
    """Base class of every error graphcrm raises on purpose."""

    exit_code = 1


class InvalidInputError(GraphCRMError, ValueError):
    """Input data does not have the shape, type or values expected."""


class InputFileError(InvalidInputError):
    """A bad row, field or encoding in an input file.

    Parameters
    ----------
    path : str
        The file being read.
    line : int or None
        1-based line number in the file (row number for Parquet / DataFrames).
    field : str or None
        The column whose value is bad.
    message : str
        What was found and what was expected.
    unit : str
        ``"line"`` for text files, ``"row"`` for tables.
    """

    def __init__(self, path, line, field, message, unit="line"):
        self.path = str(path)
        self.line = line
        self.field = field
        self.reason = message
        where = self.path
        if line is not None:
            where += f", {unit} {line}"
        if field is not None:
            where += f", field '{field}'"
        super().__init__(f"{where}: {message}")


class EmptyInputError(InputFileError):
    """An input file with no data rows: empty, comments only, or a header only (``--allow-empty`` skips it)."""


class NodeNotFoundError(GraphCRMError, KeyError):
    """An external account id is not in the graph."""

    def __str__(self):  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class LayerNotFoundError(GraphCRMError, KeyError):
    """A layer name is not in the graph (a name the user gave: a usage error, exit code 2)."""

    exit_code = 2

    def __str__(self):
        return str(self.args[0]) if self.args else ""


class ParameterError(GraphCRMError, ValueError):
    """A parameter value is out of range or inconsistent with others."""

    exit_code = 2


class ConfigError(ParameterError):
    """A configuration file (pipeline, segments) is not valid: names the file and the key.

    Parameters
    ----------
    path : str
        The configuration file.
    key : str or None
        The table / key at fault, e.g. ``steps.segments.config``.
    message : str
        What was found and what was expected.
    """

    def __init__(self, path, key, message):
        self.path, self.key = str(path), key
        where = self.path + (f", key '{key}'" if key else "")
        super().__init__(f"{where}: {message}")


class ConvergenceError(GraphCRMError, RuntimeError):
    """An iterative algorithm did not converge within ``max_iter``."""


class SnapshotError(GraphCRMError):
    """A snapshot directory is missing, incomplete or of an unknown format."""


class ConnectionError(GraphCRMError):  # noqa: A001 - deliberate, scoped name
    """A graph store (e.g. Neo4j) could not be reached or refused a request."""


class StoreUnavailableError(ConnectionError):
    """The graph store cannot be reached (server down, network, timeout); re-running resumes."""


class StoreAuthError(ConnectionError):
    """The graph store refused the credentials (a configuration error)."""

    exit_code = 2


class StoreDatabaseError(ConnectionError):
    """The named database does not exist on the graph store (a configuration error)."""

    exit_code = 2


class StoreQueryError(ConnectionError):
    """The graph store rejected a statement or its data (constraint, type, syntax)."""


def whole_number(value, name: str, minimum: int = 1) -> int:
    """``value`` as an ``int`` when it is a whole number >= ``minimum`` (``10`` and ``10.0`` alike), else a
    :class:`ParameterError` naming ``name``: what the numba kernels would otherwise meet as a float or a string.

    >>> whole_number(10.0, "n_runs"), whole_number(0, "max_steps", 0)
    (10, 0)
    >>> whole_number(2.5, "k")
    Traceback (most recent call last):
    ...
    graphcrm.loaders.errors.ParameterError: k must be a whole number >= 1, got 2.5
    """
    import numbers

    ok = isinstance(value, numbers.Real) and not isinstance(value, bool) and float(value).is_integer() \
        and value >= minimum
    if not ok:
        raise ParameterError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(value)
