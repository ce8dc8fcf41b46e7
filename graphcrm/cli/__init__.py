"""The ``graphcrm`` command line: one module per verb group, registered here.

Exit codes: 0 ok, 1 domain error (bad input data, missing snapshot ...),
2 usage or configuration error.  Errors print as one line on stderr; only
real bugs show a traceback.  ``--json`` prints a machine-readable summary on
stdout.

Every verb module has a ``register(app)`` function and imports only
:mod:`graphcrm.cli.common` of the CLI (emit, shared options, snapshot loading,
timing); heavy imports stay inside the verbs.
"""

from __future__ import annotations

import os
import sys

import typer

from graphcrm.cli import audience, crm, database, forecast, jobs, load, report, scores, spread
from graphcrm.cli.common import protect_inputs
from graphcrm.loaders.errors import GraphCRMError

#: verb groups in the order ``graphcrm --help`` lists them
VERB_MODULES = (load, scores, spread, audience, forecast, crm, report, jobs, database)

app = typer.Typer(
    name="graphcrm",
    help="Social-graph influence analytics for social CRM.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _module in VERB_MODULES:
    _module.register(app)
protect_inputs(app)         # no output option may name a file the command reads


def main(argv=None) -> int:
    """Entry point: run the app; graphcrm errors become one line and an exit code.

    Usage errors are reported by typer itself (exit code 2).
    """
    # a command never plots: igraph is imported without matplotlib (graphcrm.algorithms._igraph_import.LEAN_ENV)
    os.environ.setdefault("GRAPHCRM_LEAN_IGRAPH", "1")
    try:
        app(args=argv, prog_name="graphcrm")
    except GraphCRMError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except OSError as exc:  # a path the user gave cannot be read or written
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        typer.echo(f"error: {where}{exc.strerror or exc}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("aborted", err=True)
        return 130
    return 0


def run() -> None:
    """The ``graphcrm`` console script: :func:`main`, and an exit code that is always 0, 1, 2 or 130.

    After an error has been reported nothing is left to write, so the process ends at once
    (``os._exit``) instead of tearing the interpreter down: a native thread pool (numba, Arrow)
    destroyed during teardown can abort the process (exit 134, "terminate called without an active
    exception") after the one-line error was already printed, which breaks the exit-code contract
    batch jobs rely on.
    """
    try:
        code = main()
    except SystemExit as exc:               # usage errors and --help leave through click's SystemExit
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    if code:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    run()
