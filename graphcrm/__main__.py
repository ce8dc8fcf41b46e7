"""``python -m graphcrm``: the same as the ``graphcrm`` console script."""

from graphcrm.cli import run

run()
