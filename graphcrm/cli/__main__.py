"""``python -m graphcrm.cli``: the same as the ``graphcrm`` console script."""

from graphcrm.cli import run

run()
