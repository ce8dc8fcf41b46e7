"""Name, city and handle normalisation for linking CRM customers to social accounts.

Transliterated (anyascii), lower-case words; taglines and emoji cut off;
nicknames mapped to the formal first name (:data:`graphcrm.crm._namedata.NICKNAMES`);
surnames read from handles that spell them.  Used by
:mod:`graphcrm.crm.linking` for comparison levels and blocking keys.
"""

from __future__ import annotations

import re
import unicodedata

import numpy as np
from anyascii import anyascii

from graphcrm.crm._namedata import NICKNAMES


def _strip_symbols(text: str) -> str:
    return "".join(ch for ch in text if not unicodedata.category(ch).startswith(("S", "C")))


def normalize_name(text) -> str:
    """Transliterated, lower-case name words; taglines after ``|``, `` - `` or ``(`` dropped; ``Last, First`` swapped.

    Examples
    --------
    >>> normalize_name("José Müller | coffee lover ☕")
    'jose muller'
    >>> normalize_name("PETROV, Иван")
    'ivan petrov'
    >>> normalize_name("Seán O'Brien")
    'sean obrien'
    >>> normalize_name("Karen Ashton 🌍 traveller")
    'karen ashton'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    text = re.split(r"\|| - |\(", str(text))[0]
    # a symbol (an emoji, a currency sign) after the name starts a tagline too: "Karen Ashton 🌍 traveller"
    cut = next((i for i, ch in enumerate(text) if i and unicodedata.category(ch).startswith("S")), len(text))
    text = _strip_symbols(text[:cut])
    if "," in text:
        last, _, first = text.partition(",")
        text = f"{first} {last}"
    text = anyascii(text).lower()
    text = re.sub(r"[^a-z0-9\s]", "", text)
    return " ".join(text.split())


def normalize_city(text) -> str:
    """City words only: before the first comma, transliterated, lower case.

    Examples
    --------
    >>> normalize_city("München, Germany")
    'munchen'
    """
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return ""
    return normalize_name(str(text).split(",")[0])


def _alnum(text: str) -> str:
    """A handle or e-mail local part for comparison: letters, digits, and ``.``/``-``/``_`` as ``_``.

    The separator stays: ``karen_blackford`` and ``karenblackford`` are two
    handles (often namesakes), while an e-mail's ``karen.blackford`` is the
    same choice as the handle ``karen_blackford``.

    >>> _alnum("@Karen.Blackford"), _alnum("Jürgen-K_77")
    ('karen_blackford', 'jurgen_k_77')
    """
    return re.sub(r"[^a-z0-9_]", "", re.sub(r"[.\-]", "_", anyascii(str(text)).lower()))


def _name_from_email(local: str, first_names=frozenset()) -> str:
    """``first.last`` / ``first_last`` e-mail local parts give a name when the CRM has none.

    A local part written in one piece (``annaberg84``) is split after a known
    first name (``first_names``, e.g. those the accounts show), the longest
    that leaves a surname of three letters or more.

    Examples
    --------
    >>> _name_from_email("anna.berg84"), _name_from_email("aberg84")
    ('anna berg', '')
    >>> _name_from_email("annaberg84", {"ann", "anna"}), _name_from_email("annab84", {"anna"})
    ('anna berg', '')
    """
    parts = [p for p in re.split(r"[._\-\d]+", str(local or "")) if p]
    if len(parts) == 2 and all(len(p) >= 2 for p in parts):
        return " ".join(parts)
    if len(parts) == 1 and first_names:
        word = parts[0].lower()
        for cut in range(len(word) - 3, 1, -1):
            if word[:cut] in first_names:
                return f"{word[:cut]} {word[cut:]}"
    return ""


def _number(handle: str) -> str:
    """The last run of two or more digits in a handle or e-mail local part ('' if none)."""
    runs = re.findall(r"\d{2,}", str(handle))
    return runs[-1] if runs else ""


def _surname_from_handle(first: str, letters: str) -> str:
    """The surname in a handle that spells the first name and the surname (``annaberg``, ``berg_anna``), else ''.

    For accounts whose display name is a first name only: their handle often
    carries the surname.

    Examples
    --------
    >>> _surname_from_handle("anna", "annaberg"), _surname_from_handle("anna", "berganna")
    ('berg', 'berg')
    >>> _surname_from_handle("anna", "skyfox"), _surname_from_handle("anna", "annab")
    ('', '')
    """
    if len(first) < 2 or len(letters) < len(first) + 3:
        return ""
    if letters.startswith(first):
        return letters[len(first):]
    if letters.endswith(first):
        return letters[:-len(first)]
    return ""


def _handle_surnames(first: str, letters: str) -> list[str]:
    """Surnames a handle might carry next to the first name or its initial (``allenh``, ``hallen``): blocking only."""
    out = {_surname_from_handle(first, letters)}
    if first and len(letters) >= 4:
        if letters.endswith(first[0]):
            out.add(letters[:-1])
        if letters.startswith(first[0]):
            out.add(letters[1:])
    return sorted(x for x in out if len(x) >= 3)


def _initial_class(word: str) -> str:
    """The first letter, with the letters spelling or transliteration swap at the start made one."""
    first = word[:1]
    return "k" if first == "c" else "j" if first in ("i", "y") else first


def _canonical_first(word: str) -> str:
    """The full first name a nickname stands for ("liz" -> "elizabeth"); other words unchanged."""
    return NICKNAMES.get(word, word)


def _split(name: str) -> tuple[str, str]:
    parts = name.split()
    if not parts:
        return "", ""
    return _canonical_first(parts[0]), "".join(parts[1:])
