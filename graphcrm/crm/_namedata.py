"""Small frequency lists for the synthetic CRM benchmark, and the nickname table the linker uses.

First names and surnames are a mix of the most frequent names in the US
census / SSA lists and common names of a few European countries (with their
accents, and a few Cyrillic spellings), with rough relative frequencies so
that namesakes are frequent, as in a real customer base.  Cities are weighted
by rough population.  The numbers are relative weights, not counts.
"""

from __future__ import annotations

FIRST_NAMES = {
    "James": 33, "Mary": 30, "John": 32, "Patricia": 15, "Robert": 31, "Jennifer": 15, "Michael": 43,
    "Linda": 14, "William": 23, "Elizabeth": 16, "David": 36, "Barbara": 12, "Richard": 15, "Susan": 11,
    "Joseph": 14, "Jessica": 13, "Thomas": 14, "Sarah": 13, "Charles": 12, "Karen": 10, "Christopher": 19,
    "Nancy": 8, "Daniel": 17, "Lisa": 9, "Matthew": 15, "Margaret": 8, "Anthony": 10, "Sandra": 7,
    "Andrew": 10, "Ashley": 9, "Joshua": 11, "Emily": 9, "Katherine": 8, "Steven": 9, "Kimberly": 7,
    "Nicholas": 7, "Rebecca": 6, "Alexander": 7, "Victoria": 5, "Samuel": 6, "Benjamin": 7, "Anna": 7,
    "José": 12, "María": 12, "Juan": 8, "Sofía": 5, "Luis": 6, "Lucía": 4, "François": 4, "Hélène": 3,
    "Jérôme": 2, "Zoë": 2, "Jürgen": 2, "Søren": 1, "Björn": 2, "Ángel": 3, "Иван": 4,
    "Мария": 3, "Дмитрий": 3, "Ольга": 2, "Mohammed": 6, "Wei": 4, "Priya": 3, "Aisha": 3, "Chloé": 2,
}

SURNAMES = {
    "Smith": 24, "Johnson": 19, "Williams": 16, "Brown": 14, "Jones": 14, "Garcia": 11, "Miller": 11,
    "Davis": 10, "Rodriguez": 10, "Martinez": 10, "Hernandez": 9, "Lopez": 8, "Gonzalez": 8, "Wilson": 8,
    "Anderson": 8, "Thomas": 8, "Taylor": 8, "Moore": 7, "Jackson": 7, "Martin": 7, "Lee": 7, "Perez": 6,
    "Thompson": 6, "White": 6, "Harris": 6, "Sanchez": 6, "Clark": 5, "Ramirez": 5, "Lewis": 5,
    "Robinson": 5, "Walker": 5, "Young": 5, "Allen": 5, "King": 5, "Wright": 5, "Scott": 4, "Torres": 4,
    "Nguyen": 4, "Hill": 4, "Flores": 4, "Green": 4, "Adams": 4, "Nelson": 4, "Baker": 4, "Hall": 4,
    "Rivera": 4, "Campbell": 3, "Mitchell": 3, "Carter": 3, "Roberts": 3, "O'Brien": 3, "McDonald": 3,
    "Müller": 5, "Schröder": 2, "Weiß": 2, "Dubois": 3, "Lefèvre": 2, "Sánchez": 4, "Muñoz": 3,
    "Gómez": 3, "Peña": 2, "Núñez": 2, "Jørgensen": 1, "Kowalski": 3, "Nowak": 3, "Wiśniewski": 2,
    "Иванов": 4, "Петров": 3, "Смирнов": 3, "Kim": 4, "Chen": 4, "Wang": 4, "Patel": 4, "Khan": 3,
    "Rossi": 3, "Ferrari": 2, "Esposito": 2, "Silva": 3, "Santos": 3, "Van der Berg": 2, "De Jong": 2,
}

CITIES = {
    "New York": 84, "Los Angeles": 39, "Chicago": 27, "Houston": 23, "Phoenix": 16, "Philadelphia": 16,
    "San Antonio": 15, "San Diego": 14, "Dallas": 13, "San Jose": 10, "Austin": 10, "Jacksonville": 9,
    "Seattle": 7, "Denver": 7, "Boston": 7, "Miami": 5, "Atlanta": 5, "Portland": 6, "London": 30,
    "Paris": 21, "Berlin": 36, "München": 15, "Köln": 10, "Madrid": 33, "Barcelona": 16, "Sevilla": 7,
    "Montréal": 17, "Québec": 5, "Zürich": 4, "Москва": 40, "Kraków": 8, "São Paulo": 30, "Toronto": 28,
    "Milano": 14, "Roma": 28, "Amsterdam": 9, "København": 6,
}

#: nickname -> formal first name (lower case, ASCII); the linker treats them as the same first name
NICKNAMES = {
    "jim": "james", "jimmy": "james", "jamie": "james", "bill": "william", "will": "william",
    "billy": "william", "liam": "william", "bob": "robert", "rob": "robert", "bobby": "robert",
    "robbie": "robert", "mike": "michael", "mikey": "michael", "dave": "david", "davy": "david",
    "dick": "richard", "rick": "richard", "rich": "richard", "joe": "joseph", "joey": "joseph",
    "tom": "thomas", "tommy": "thomas", "chuck": "charles", "charlie": "charles", "chris": "christopher",
    "dan": "daniel", "danny": "daniel", "matt": "matthew", "tony": "anthony", "andy": "andrew",
    "drew": "andrew", "josh": "joshua", "steve": "steven", "nick": "nicholas", "alex": "alexander",
    "sam": "samuel", "ben": "benjamin", "johnny": "john", "jack": "john", "liz": "elizabeth",
    "beth": "elizabeth", "betty": "elizabeth", "lizzy": "elizabeth", "patty": "patricia", "pat": "patricia",
    "jen": "jennifer", "jenny": "jennifer", "barb": "barbara", "sue": "susan", "susie": "susan",
    "jess": "jessica", "kate": "katherine", "katie": "katherine", "kathy": "katherine", "kim": "kimberly",
    "becky": "rebecca", "vicky": "victoria", "tori": "victoria", "maggie": "margaret", "peggy": "margaret",
    "meg": "margaret", "annie": "anna", "pepe": "jose", "vanya": "ivan", "masha": "mariya",
    "dima": "dmitriy", "olya": "olga", "mo": "mohammed",
}


# --- long tails -------------------------------------------------------------------------------------
# Real name and place frequencies are Zipf-like: the names above are the head; the tail below is made of
# plausible syllable combinations with Zipf weights, so rare names exist (and common ones stay common).
_SURNAME_PRE = ["Ash", "Black", "Brook", "Cal", "Dal", "Ed", "Fair", "Gold", "Hart", "Kirk", "Lang", "Mar", "Nor",
                "Oak", "Pem", "Rad", "Sel", "Stan", "Thorn", "Wal", "Win", "Hol", "Ber", "Kel", "Mor", "Bran", "Gar",
                "Har", "Lind", "Ros"]
_SURNAME_SUF = ["ton", "ford", "wood", "ley", "man", "son", "berg", "stein", "er", "ick", "wick", "more", "by",
                "field", "well", "ham", "worth", "dale", "croft", "ridge", "lund", "sky", "ovic", "ini", "ez", "ard",
                "ing", "ell", "ow", "is"]
_FIRST_PRE = ["A", "Be", "Ca", "Da", "E", "Fe", "Ga", "Ha", "I", "Ja", "Ka", "La", "Ma", "Na", "O", "Pa", "Ra", "Sa",
              "Ta", "Va"]
_FIRST_SUF = ["lina", "ren", "ron", "mira", "lia", "nton", "vin", "sha", "dric", "lan", "rina", "tan", "via", "nor",
              "lix"]
_CITY_PRE = ["North", "South", "East", "West", "New", "Old", "Lake", "Port", "Mount", "Fort"]
_CITY_SUF = ["field", "ville", "haven", "brook", "ford", "bridge", "wood", "dale", "ton", "side", "shore", "burg",
             "mouth", "stead", "gate"]


def _with_tail(head: dict, pre: list, suf: list, tail_share: float, sep: str = "") -> dict:
    names = [p + sep + s for s in suf for p in pre]          # interleaved so both syllables vary along the ranks
    names = [n for n in names if n not in head]
    zipf = [1.0 / (rank + 1) ** 0.8 for rank in range(len(names))]
    scale = sum(head.values()) * tail_share / (1.0 - tail_share) / sum(zipf)
    return {**head, **{n: w * scale for n, w in zip(names, zipf)}}


def first_name_weights() -> dict:
    """First names with relative weights: the head above (70% of people) and a Zipf tail (30%)."""
    return _with_tail(FIRST_NAMES, _FIRST_PRE, _FIRST_SUF, 0.3)


def surname_weights() -> dict:
    """Surnames with relative weights: the head above (45% of people) and a Zipf tail (55%)."""
    return _with_tail(SURNAMES, _SURNAME_PRE, _SURNAME_SUF, 0.55)


def city_weights() -> dict:
    """Cities with relative weights: the head above (75% of people) and smaller towns (25%)."""
    return _with_tail(CITIES, _CITY_PRE, _CITY_SUF, 0.25)
