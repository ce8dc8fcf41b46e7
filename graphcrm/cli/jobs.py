"""``graphcrm demo`` and ``graphcrm warmup``: the main job on the bundled sample, and ahead-of-time compiling."""

from __future__ import annotations

from pathlib import Path

import typer

from graphcrm.cli.common import emit
from graphcrm.progress import step


def register(app: typer.Typer) -> None:
    app.command()(demo)
    app.command()(warmup)


def demo(
    out: Path = typer.Option(Path("graphcrm-demo-output"), "--out", help="Directory for the demo's outputs."),
    as_json: bool = typer.Option(False, "--json", help="Print a JSON summary."),
):
    """The main job on the bundled real sample (one hour of the Higgs announcement on Twitter).

    Example: graphcrm demo --out graphcrm-demo-output
    """
    from graphcrm.demo import format_demo, run_demo

    summary = run_demo(out)
    emit(summary, as_json, format_demo(summary))


def warmup(as_json: bool = typer.Option(False, "--json", help="Print JSON.")):
    """Compile every numba kernel now (it is cached on disk for later runs).

    Example: graphcrm warmup
    """
    from graphcrm.warmup import warmup as run

    with step("compiling kernels"):
        timings = run()
    total = sum(timings.values())
    emit({"kernel_modules": timings, "seconds": round(total, 3)}, as_json,
          f"compiled {len(timings)} kernel modules in {total:.1f} s")
