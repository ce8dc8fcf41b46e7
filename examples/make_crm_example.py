"""Write the example CRM files of ``examples/pipeline.toml`` (synthetic people on the real bitcoin-alpha ids).

Deterministic: re-running it rewrites the same bytes.  Run from the repository root::

    python examples/make_crm_example.py
"""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pandas as pd

from graphcrm.crm.synthetic import synthetic_crm

HERE = Path(__file__).resolve().parent
DATASETS = Path(os.environ.get("GRAPHCRM_DATASETS", HERE.parent.parent / "shared" / "datasets"))


def main() -> None:
    with gzip.open(DATASETS / "soc-sign-bitcoin" / "soc-sign-bitcoinalpha.csv.gz", "rt") as fh:
        ratings = pd.read_csv(fh)
    ids = sorted(set(ratings.source) | set(ratings.target))
    crm = synthetic_crm(ids, 600, seed=7)
    out = HERE / "crm"
    out.mkdir(exist_ok=True)
    crm.accounts.to_csv(out / "accounts.csv", index=False, lineterminator="\n")
    crm.customers.to_csv(out / "customers.csv", index=False, lineterminator="\n")
    # a price per account: a base fee plus a fee per rating received (audience proxy)
    received = ratings.target.value_counts().reindex(ids, fill_value=0)
    costs = pd.DataFrame({"account_id": ids, "cost": (50 + 5 * received.to_numpy()).astype(float)})
    costs.to_csv(out / "costs.csv", index=False, lineterminator="\n")
    # five VIP customers who have an account (for the reachable_via segment)
    vip = crm.truth.dropna().customer_id.head(5)
    (out / "vip_customers.txt").write_text("\n".join(vip) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
