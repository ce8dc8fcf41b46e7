"""Every Cypher statement graphcrm sends to Neo4j, and the names allowed in them.

User values only ever travel as parameters.  Labels, relationship types and
property names cannot be parameters in Cypher, so they come from allowlists
and are checked against :data:`IDENTIFIER` before a statement is built.
:func:`all_statements` lists every statement (with each allowed name filled
in), so a test can run all of them through Neo4j's own parser.

The graph model::

    (:Account {id, <node attributes>, score_<measure>, community, segment})
    (:Account)-[:FOLLOWS|RETWEETED|REPLIED|MENTIONED|LIKED|TRUSTS
               {count, first_time, last_time, weight, sign}]->(:Account)

Relationships point the way the source says ("a retweeted b" is
``(a)-[:RETWEETED]->(b)``), not the influence direction of the in-memory
layers; :mod:`graphcrm.loaders.neo4j_store` converts with each layer's direction.

Neo4j 5 syntax throughout.  The one place where the local ArcadeDB server
needs something else is :data:`SERVER_DIFFERENCES` (none needed so far; see
its comment).

Examples
--------
>>> REL_TYPES["retweets"]
'RETWEETED'
>>> check_identifier("score_pagerank", "property")
'score_pagerank'
>>> check_identifier("x) DETACH DELETE (n", "label")
Traceback (most recent call last):
...
graphcrm.loaders.errors.ParameterError: label 'x) DETACH DELETE (n' is not allowed: use letters, digits and _ (a letter first)
>>> print(merge_relationships("RETWEETED"))  # doctest: +NORMALIZE_WHITESPACE
UNWIND $rels AS r MATCH (a:Account {id: r[0]}) MATCH (b:Account {id: r[1]})
MERGE (a)-[e:RETWEETED]->(b)
SET e.count = r[2], e.first_time = r[3], e.last_time = r[4], e.weight = r[5], e.sign = r[6]
"""

from __future__ import annotations

import re

from graphcrm.loaders.errors import ParameterError

#: letters, digits and underscore, a letter first, at most 64 characters
IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
#: database names (passed to the driver, never written into Cypher): Neo4j's rules, roughly
DATABASE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9.\-]{0,62}")

#: the node label of every account
ACCOUNT = "Account"

#: layer name -> relationship type (the allowlist of relationship types)
REL_TYPES = {
    "follows": "FOLLOWS",
    "retweets": "RETWEETED",
    "replies": "REPLIED",
    "mentions": "MENTIONED",
    "likes": "LIKED",
    "trust": "TRUSTS",
}
LAYER_OF_TYPE = {t: layer for layer, t in REL_TYPES.items()}

#: labels write-back may set (opinion leaders and segments); anything else is refused
LABELS = ("OpinionLeader", "Leader", "Advocate", "Critic", "Supporter", "Bridge", "AtRisk", "Influencer", "Customer")

#: relationship properties, in the order push writes them
REL_PROPERTIES = ("count", "first_time", "last_time", "weight", "sign")

#: property names graphcrm itself owns on accounts
RESERVED_PROPERTIES = ("id",)

# Where ArcadeDB (the local/test Bolt server) and Neo4j 5 differ, Neo4j's syntax
# wins and the difference lives here.  Every statement below is plain Neo4j 5
# Cypher that ArcadeDB 26.10 also accepts, so no statement needs a variant yet.
# Deliberately avoided because ArcadeDB lacks them: dynamic labels/properties
# (``SET a:$(x)``, ``a[$key] = ...``), ``CALL {...} IN TRANSACTIONS``,
# ``COUNT {...}`` subqueries.  Behaviour differences seen (no syntax change, listed
# so nobody relies on them): ArcadeDB stores a node with an extra label as type
# ``Account~Label`` (MATCH/MERGE on ``:Account`` still find it), and its summary
# counters report ``properties_set`` even when a value did not change, so
# "nothing changed" is checked by comparing stored state, never by counters.
SERVER_DIFFERENCES: dict[str, str] = {}


def check_identifier(name: str, what: str) -> str:
    """``name`` if it is a safe Cypher identifier, else :class:`ParameterError`."""
    if not isinstance(name, str) or not IDENTIFIER.fullmatch(name):
        raise ParameterError(f"{what} {name!r} is not allowed: use letters, digits and _ (a letter first)")
    return name


def check_label(label: str) -> str:
    """A write-back label from the allowlist :data:`LABELS`."""
    check_identifier(label, "label")
    if label not in LABELS:
        raise ParameterError(f"label {label!r} is not in the allowlist ({', '.join(LABELS)})")
    return label


def check_rel_type(rel_type: str) -> str:
    """A relationship type from the allowlist :data:`REL_TYPES`."""
    check_identifier(rel_type, "relationship type")
    if rel_type not in LAYER_OF_TYPE:
        raise ParameterError(f"relationship type {rel_type!r} is not in the allowlist ({', '.join(LAYER_OF_TYPE)})")
    return rel_type


# -- statements ------------------------------------------------------------------------
CREATE_ACCOUNT_CONSTRAINT = (
    "CREATE CONSTRAINT graphcrm_account_id IF NOT EXISTS FOR (a:Account) REQUIRE a.id IS UNIQUE"
)
MERGE_ACCOUNTS = "UNWIND $rows AS r MERGE (a:Account {id: r.id}) SET a += r.props"
#: accounts without properties: a plain list of ids (packs and runs faster than ``{id, props: {}}`` maps)
MERGE_ACCOUNT_IDS = "UNWIND $ids AS id MERGE (a:Account {id: id})"
COUNT_ACCOUNTS = "MATCH (a:Account) RETURN count(a) AS n"
ERASE_ACCOUNT_RELATIONSHIPS = (
    "MATCH (a:Account {id: $id})-[e]-() RETURN type(e) AS type, count(DISTINCT e) AS n"
)
ERASE_ACCOUNT = "MATCH (a:Account {id: $id}) DETACH DELETE a RETURN count(a) AS n"
PING = "RETURN 1 AS ok"
#: which of the ids in ``$ids`` the store holds (as given: 7 and "7" are different keys)
FIND_ACCOUNTS = "UNWIND $ids AS id MATCH (a:Account {id: id}) RETURN a.id AS id"


def merge_relationships(rel_type: str, sent=REL_PROPERTIES) -> str:
    """UNWIND-batch upsert of one relationship type.

    Rows (``$rels``) are lists ``[src, dst, <each property of sent, in order>]``: positional lists pack
    smaller and faster than maps repeating the same keys in every row.  Properties of
    :data:`REL_PROPERTIES` not in ``sent`` (a layer without times has no ``count``, ``first_time`` and
    ``last_time``) are set to null, as a row's null would set them: removed.

    >>> print(merge_relationships("FOLLOWS", sent=("weight",)))  # doctest: +NORMALIZE_WHITESPACE
    UNWIND $rels AS r MATCH (a:Account {id: r[0]}) MATCH (b:Account {id: r[1]})
    MERGE (a)-[e:FOLLOWS]->(b)
    SET e.count = null, e.first_time = null, e.last_time = null, e.weight = r[2], e.sign = null
    """
    rel_type = check_rel_type(rel_type)
    unknown = [p for p in sent if p not in REL_PROPERTIES]
    if unknown:
        raise ParameterError(f"relationship properties {unknown} are not among {', '.join(REL_PROPERTIES)}")
    position = {p: i + 2 for i, p in enumerate(sent)}
    sets = ", ".join(f"e.{p} = r[{position[p]}]" if p in position else f"e.{p} = null" for p in REL_PROPERTIES)
    return (f"UNWIND $rels AS r MATCH (a:Account {{id: r[0]}}) MATCH (b:Account {{id: r[1]}})\n"
            f"MERGE (a)-[e:{rel_type}]->(b)\nSET {sets}")


def count_relationships(rel_type: str) -> str:
    """Number of relationships of one type between accounts."""
    return f"MATCH (:Account)-[e:{check_rel_type(rel_type)}]->(:Account) RETURN count(e) AS n"


def _account_pattern(var: str, label: str | None) -> str:
    return f"({var}:Account:{check_label(label)})" if label else f"({var}:Account)"


def read_accounts(label: str | None = None) -> str:
    """Every account (optionally only those with ``label``): ``id, props``."""
    return f"MATCH {_account_pattern('a', label)} RETURN a.id AS id, properties(a) AS props"


def read_relationships(rel_type: str, label: str | None = None) -> str:
    """Relationships of one type, optionally in a time window ``[$start, $end)`` and between labelled accounts.

    A relationship is in the window when its first..last interval overlaps
    it; relationships without times (follows) are always kept.
    """
    rel_type = check_rel_type(rel_type)
    return (f"MATCH {_account_pattern('a', label)}-[e:{rel_type}]->{_account_pattern('b', label)}\n"
            "WHERE e.last_time IS NULL OR (($start IS NULL OR e.last_time >= $start) "
            "AND ($end IS NULL OR e.first_time < $end))\n"
            "RETURN a.id AS src, b.id AS dst, e.weight AS weight")


def read_account_values(props) -> str:
    """Every account's id and the values of ``props`` (one column each, in that order)."""
    names = [check_identifier(str(p), "property") for p in props]
    return "MATCH (a:Account) RETURN a.id AS id" + "".join(f", a.{p} AS v{i}" for i, p in enumerate(names))


def set_properties() -> str:
    """Write-back of node properties (``rows: id, props``); returns the ids of the accounts found."""
    return "UNWIND $rows AS r MATCH (a:Account {id: r.id}) SET a += r.props RETURN a.id AS id"


def count_with_property(prop: str) -> str:
    """Accounts that have property ``prop``."""
    prop = check_identifier(prop, "property")
    return f"MATCH (a:Account) WHERE a.{prop} IS NOT NULL RETURN count(a) AS n"


def remove_stale_property(prop: str) -> str:
    """Remove ``prop`` from accounts not in ``$keep`` (left from an earlier run)."""
    prop = check_identifier(prop, "property")
    return (f"MATCH (a:Account) WHERE a.{prop} IS NOT NULL AND NOT a.id IN $keep "
            f"REMOVE a.{prop} RETURN count(a) AS n")


def add_label(label: str) -> str:
    """Give ``label`` to the accounts in ``$ids``; returns the ids of the accounts found."""
    return f"UNWIND $ids AS id MATCH (a:Account {{id: id}}) SET a:{check_label(label)} RETURN a.id AS id"


def read_labelled(label: str) -> str:
    """The ids of the accounts carrying ``label``."""
    return f"MATCH (a:Account:{check_label(label)}) RETURN a.id AS id"


def count_with_label(label: str) -> str:
    """Accounts carrying ``label``."""
    return f"MATCH (a:Account:{check_label(label)}) RETURN count(a) AS n"


def remove_stale_label(label: str) -> str:
    """Remove ``label`` from accounts not in ``$keep``."""
    label = check_label(label)
    return f"MATCH (a:Account:{label}) WHERE NOT a.id IN $keep REMOVE a:{label} RETURN count(a) AS n"


def all_statements() -> dict[str, str]:
    """Every statement graphcrm can send, by a descriptive key (for the Cypher lint test).

    >>> len(all_statements()) > 20
    True
    """
    out = {
        "create_account_constraint": CREATE_ACCOUNT_CONSTRAINT,
        "merge_accounts": MERGE_ACCOUNTS,
        "merge_account_ids": MERGE_ACCOUNT_IDS,
        "count_accounts": COUNT_ACCOUNTS,
        "erase_account_relationships": ERASE_ACCOUNT_RELATIONSHIPS,
        "erase_account": ERASE_ACCOUNT,
        "ping": PING,
        "find_accounts": FIND_ACCOUNTS,
        "set_properties": set_properties(),
        "read_accounts": read_accounts(),
        "read_account_values[score_pagerank,community]": read_account_values(["score_pagerank", "community"]),
        "count_with_property[score_pagerank]": count_with_property("score_pagerank"),
        "remove_stale_property[score_pagerank]": remove_stale_property("score_pagerank"),
    }
    for rel_type in REL_TYPES.values():
        out[f"merge_relationships[{rel_type}]"] = merge_relationships(rel_type)
        out[f"merge_relationships[{rel_type},weight]"] = merge_relationships(rel_type, ("weight",))
        out[f"merge_relationships[{rel_type},no sign]"] = merge_relationships(rel_type, REL_PROPERTIES[:-1])
        out[f"count_relationships[{rel_type}]"] = count_relationships(rel_type)
        out[f"read_relationships[{rel_type}]"] = read_relationships(rel_type)
        out[f"read_relationships[{rel_type},Leader]"] = read_relationships(rel_type, "Leader")
    for label in LABELS:
        out[f"read_accounts[{label}]"] = read_accounts(label)
        out[f"add_label[{label}]"] = add_label(label)
        out[f"count_with_label[{label}]"] = count_with_label(label)
        out[f"read_labelled[{label}]"] = read_labelled(label)
        out[f"remove_stale_label[{label}]"] = remove_stale_label(label)
    return out
