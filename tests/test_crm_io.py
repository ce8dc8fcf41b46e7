"""CRM inputs and outputs through the installed executable (QA findings F10-F14): the costs table, empty customer
files, multi-file outputs replaced all or nothing, write errors naming the user's path, customers-file details."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from graphcrm.loaders.atomic import FileGroup
from graphcrm.loaders.customers import normalize_phone, read_customers
from tests.conftest import REPO

CRM = REPO / "examples" / "crm"


def graphcrm(*args, cwd=None):
    exe = shutil.which("graphcrm")
    assert exe, "the graphcrm executable is installed by pip install -e ."
    return subprocess.run([exe, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=300)


def one_line_error(proc, code=1) -> str:
    assert proc.returncode == code, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
    assert ".tmp-" not in proc.stderr and ".old-" not in proc.stderr
    return proc.stderr.strip()


def contents(folder: Path) -> dict:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@pytest.fixture(scope="module")
def snap(tmp_path_factory) -> Path:
    """A follows graph of 12 accounts in two versions (the second appends a day of follows)."""
    d = tmp_path_factory.mktemp("io")
    (d / "day1.csv").write_text("src,dst\n" + "".join(f"{a},{b}\n" for a, b in
                                [(3, 1), (4, 1), (5, 1), (6, 1), (7, 2), (8, 2), (5, 2), (9, 3), (10, 4), (11, 1)]))
    (d / "day2.csv").write_text("src,dst\n12,1\n12,2\n9,2\n10,2\n")
    assert graphcrm("load", "--edges", d / "day1.csv", "--out", d / "snap").returncode == 0
    proc = graphcrm("load", "--edges", d / "day2.csv", "--append", d / "snap")
    assert proc.returncode == 0, proc.stderr
    return d / "snap"


# ------------------------------------------------------------------------------------ F10: the costs table
@pytest.mark.parametrize("name, body, expected", [
    ("dup.csv", "account_id,cost\n1,100\n1,200\n", "dup.csv, line 3, field 'account_id': account id '1' already on line 2"),
    ("cols.csv", "account_id,amount\n1,100\n", "cols.csv, field 'cost': missing column 'cost' (found: account_id, amount)"),
    ("semi.csv", "account_id;cost\n1;100\n", "the file looks semicolon-separated"),
    ("bad.csv", "account_id,cost\n1,abc\n2,100\n", "bad.csv, line 2, field 'cost': 'abc' is not a number"),
    ("neg.csv", "account_id,cost\n1,-100\n", "neg.csv, line 2, field 'cost': -100 is not a positive cost"),
    ("empty.csv", "account_id,cost\n1,100\n2,\n", "empty.csv, line 3, field 'cost': empty cost"),
    ("none.csv", "account_id,cost\n", "none.csv: no costs in the file"),
])
def test_a_bad_costs_table_is_one_line_naming_file_line_and_field(snap, tmp_path, name, body, expected):
    (tmp_path / name).write_text(body)
    proc = graphcrm("economics", snap, "--influencer", "1", "--influencer", "2", "--costs", tmp_path / name,
                    "--out", tmp_path / "e.csv", "--runs", "50")
    assert expected in one_line_error(proc)
    assert not (tmp_path / "e.csv").exists()


def test_costs_tables_as_spreadsheets_write_them(snap, tmp_path):
    (tmp_path / "excel.csv").write_text("sep=;\naccount_id;price\n1;250\n2;99.5\n")     # Excel's delimiter line, alias
    proc = graphcrm("economics", snap, "--influencer", "1", "--influencer", "2", "--influencer", "3",
                    "--costs", tmp_path / "excel.csv", "--out", tmp_path / "e.csv", "--runs", "50")
    assert proc.returncode == 0, proc.stderr
    table = pd.read_csv(tmp_path / "e.csv").set_index("account_id")
    assert table.cost.to_dict() == {1: 250.0, 2: 99.5, 3: pytest.approx(float("nan"), nan_ok=True)}


# ----------------------------------------------------------------- F11: no empty links over good ones
def test_link_never_replaces_links_with_empty_ones(tmp_path):
    out = tmp_path / "links.csv"
    assert graphcrm("link", "--customers", CRM / "customers.csv", "--accounts", CRM / "accounts.csv",
                    "--out", out).returncode == 0
    before = contents(tmp_path)
    (tmp_path / "header_only.csv").write_text("customer_id,name,email,phone,city,handles,churned\n")
    proc = graphcrm("link", "--customers", tmp_path / "header_only.csv", "--accounts", CRM / "accounts.csv",
                    "--out", out)
    assert "header_only.csv: no customer rows, only a header; nothing written" in one_line_error(proc)
    (tmp_path / "all_bad.csv").write_text("customer_id,name,email\nC1,Ann,not-a-mail\nC1,Bo,bo@x.com\n,Cy,\n")
    proc = graphcrm("link", "--customers", tmp_path / "all_bad.csv", "--accounts", CRM / "accounts.csv",
                    "--out", out, "--mode", "lenient", "--rejects", tmp_path / "r.csv")
    message = one_line_error(proc)
    assert "all_bad.csv: none of its 3 rows could be loaded (" in message and "; nothing written" in message
    assert f"every row in {tmp_path / 'r.csv'}" in message and "the first: line 2, field 'email'" in message
    assert len(pd.read_csv(tmp_path / "r.csv")) == 3        # why, as `load` does
    after = contents(tmp_path)
    assert {k: v for k, v in after.items() if k in before} == before


def test_a_pipeline_with_a_header_only_customers_file_fails_its_link_step(tmp_path):
    (tmp_path / "follows.csv").write_text("src,dst\n2,1\n3,1\n")
    (tmp_path / "customers.csv").write_text("customer_id,name\n")
    (tmp_path / "p.toml").write_text(f'[pipeline]\noutput_dir = "out"\n[sources]\nedges = ["follows.csv"]\n'
                                     f'customers = "customers.csv"\naccounts = "{CRM / "accounts.csv"}"\n'
                                     "[steps.link]\n")
    proc = graphcrm("run", tmp_path / "p.toml")
    assert "step 'link'" in one_line_error(proc) and "no customer rows, only a header" in proc.stderr
    assert not (tmp_path / "out").exists()
    # lenient, every row rejected: the run writes nothing (no rejects file either), so the message says why
    (tmp_path / "customers.csv").write_text("customer_id,name,email\n,Ann,a@x.com\n,Bo,b@x.com\n")
    (tmp_path / "p.toml").write_text((tmp_path / "p.toml").read_text().replace("[sources]\n",
                                                                               '[sources]\nmode = "lenient"\n'))
    proc = graphcrm("run", tmp_path / "p.toml")
    assert "none of its 2 rows could be loaded (2 missing_value; the first: line 2, field 'customer_id'" in \
        one_line_error(proc)
    assert not (tmp_path / "out").exists()


# --------------------------------------------------------------- F12 / F13: several files, all or nothing
def test_commands_writing_several_files_replace_all_of_them_or_none(snap, tmp_path):
    link = ["link", "--customers", CRM / "customers.csv", "--accounts", CRM / "accounts.csv", "--out",
            tmp_path / "l.csv"]
    (tmp_path / "l_review.csv").mkdir()                     # the second file cannot be replaced
    assert one_line_error(graphcrm(*link)) == f"error: {tmp_path / 'l_review.csv'}: Is a directory"
    (tmp_path / "l_review.csv").rmdir()
    (tmp_path / "file").write_text("")                      # the rejects file cannot be written
    proc = graphcrm(*link, "--mode", "lenient", "--rejects", tmp_path / "file" / "r.csv")
    assert one_line_error(proc) == f"error: {tmp_path / 'file'}: Not a directory"
    (tmp_path / "e_ov.csv").mkdir()
    proc = graphcrm("economics", snap, "--influencer", "1", "--influencer", "2", "--out", tmp_path / "e.csv",
                    "--overlap-out", tmp_path / "e_ov.csv", "--runs", "50")
    assert one_line_error(proc) == f"error: {tmp_path / 'e_ov.csv'}: Is a directory"
    (tmp_path / "seg.toml").write_text('[[segment]]\nname = "top"\nkind = "leaders"\ntop = 3\n')
    (tmp_path / "d.csv").mkdir()
    proc = graphcrm("segments", snap, "--config", tmp_path / "seg.toml", "--out", tmp_path / "s.csv",
                    "--since", "1", "--changes-out", tmp_path / "d.csv")
    assert one_line_error(proc) == f"error: {tmp_path / 'd.csv'}: Is a directory"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.csv", "e_ov.csv", "file", "seg.toml"]
    proc = graphcrm("segments", snap, "--config", tmp_path / "seg.toml", "--out", tmp_path / "s.csv",
                    "--since", "1", "--json")
    assert proc.returncode == 0, proc.stderr
    assert sum(json.loads(proc.stdout)["changes"]["top"].values()) >= 3 and (tmp_path / "s.changes.csv").is_file()


def test_write_errors_name_the_path_given(snap, tmp_path):
    proc = graphcrm("link", "--customers", CRM / "customers.csv", "--accounts", CRM / "accounts.csv",
                    "--out", "/proc/links.csv")
    assert one_line_error(proc).startswith("error: /proc/links.csv: ")
    proc = graphcrm("economics", snap, "--influencer", "1", "--out", "/proc/e.parquet", "--runs", "10")
    assert one_line_error(proc) == "error: /proc/e.parquet: No such file or directory"


def test_a_group_whose_later_rename_fails_puts_the_earlier_files_back(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "x.txt").write_text("old")
    with pytest.raises(FileNotFoundError) as caught:
        with FileGroup() as files:
            files.write(tmp_path / "a" / "x.txt", lambda tmp: tmp.write_text("new"))
            files.write(tmp_path / "b" / "y.txt", lambda tmp: tmp.write_text("new"))
            shutil.rmtree(tmp_path / "b")                   # y's staged file is gone: its rename fails
    assert caught.value.filename == str(tmp_path / "b" / "y.txt")
    assert (tmp_path / "a" / "x.txt").read_text() == "old" and [p.name for p in (tmp_path / "a").iterdir()] == ["x.txt"]


# ------------------------------------------------------------------------------- F14: customers-file details
def test_customers_file_details(tmp_path):
    semi = tmp_path / "semi.csv"
    semi.write_text("customer_id;name;email\nC1;Ann Lee;ann@x.com\n")
    proc = graphcrm("link", "--customers", semi, "--accounts", CRM / "accounts.csv", "--out", tmp_path / "l.csv")
    assert "semicolon-separated" in one_line_error(proc) and "sep=;" in proc.stderr
    semi.write_text("sep=;\ncustomer_id;name;email\nC1;Ann Lee;ann@x.com\nC2;Bo;bad\n")
    with pytest.raises(Exception, match="semi.csv, line 4, field 'email'"):     # lines still count the sep= line
        read_customers(semi)
    (tmp_path / "dup.csv").write_text("customer_id,name,email,Email\nC1,Ann,a@x.com,b@x.com\n")
    with pytest.raises(Exception, match=r"dup.csv, field 'Email': column 'Email' appears twice \(columns 3 and 4\)"):
        read_customers(tmp_path / "dup.csv")
    (tmp_path / "c.csv").write_text("customer_id,name,churned\nC1,Ann,False\nC2,Bo,Yes Please\nC3,Cy,x,y\n")
    table, report = read_customers(tmp_path / "c.csv", mode="lenient")
    assert (report.rows_read, report.rows_loaded, report.n_rejected) == (3, 1, 2)
    assert "'Yes Please' is not a churn flag" in report.rejects.message.tolist()[0]
    proc = graphcrm("link", "--customers", tmp_path / "c.csv", "--accounts", CRM / "accounts.csv", "--out",
                    tmp_path / "l.csv", "--mode", "lenient")
    assert proc.returncode == 0 and f"2 customer rows rejected -> {tmp_path / 'l.csv.rejects.csv'}" in proc.stdout
    assert normalize_phone("+49 (0)30 123456") == normalize_phone("+49 30 123456") == "4930123456"
    assert normalize_phone("0049 (0)30 123456") == "4930123456" and normalize_phone("(030) 123456", "49") == "4930123456"
    # a North American number without its area code names nobody in particular: not a phone (QA)
    assert [normalize_phone(p) for p in ("555-1234", "+1 555 1234", "1 555 123 4567", "555.123.4567")] == \
        [None, None, "15551234567", "15551234567"]
    # ... but the row still loads (strict mode too), without a phone to match on, and the load says so
    (tmp_path / "local.csv").write_text("customer_id,name,email,phone\nC1,Ann Lee,ann@x.com,555-1234\n"
                                        "C2,Bo,bo@x.com,call me maybe\n")
    table, report = read_customers(tmp_path / "local.csv", mode="lenient")
    assert table.customer_id.tolist() == ["C1"] and table.phone_sha256.tolist() == [""]
    assert dict(report.rejected) == {"bad_phone": 1} and "without an area code" in report.warnings[0]


def test_influencers_file_skips_comments_and_reads_a_header(snap, tmp_path):
    (tmp_path / "inf.txt").write_text("# chosen by marketing\naccount_id\n1\n\n2\n")
    proc = graphcrm("economics", snap, "--influencers-file", tmp_path / "inf.txt", "--out", tmp_path / "e.csv",
                    "--runs", "50", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["influencers"] == 2
