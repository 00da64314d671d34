"""Settlement names as compared when an official list is matched to the bundled places (no database).

A name is compared after parcels.import_columns.column_key (case folded, ё → е, Kazakh letters folded
onto their Russian look-alikes: ә→а, қ→к, ө→о, ұ/ү→у, і→и…, Latin look-alikes read as Cyrillic,
punctuation → spaces) and without the words that only say what kind of place it is, written before
("с.", "пос.", "а.", "г.", "село", "аул"…) or after ("ауылы", "селосы"…). So "с. Қосшы", "КОСШЫ" and
"Косшы ауылы" are one name.
"""

from __future__ import annotations

from parcels.import_columns import column_key

# Folded forms (column_key) of the words naming the kind of place, Russian and Kazakh, abbreviated or not.
PLACE_WORDS_BEFORE = frozenset(
    {
        "с", "село", "п", "пос", "поселок", "пгт", "а", "аул", "ауыл", "г", "город", "к", "кала", "ст", "станция",
        "рзд", "разъезд", "кент", "д", "деревня", "х", "хутор", "зим", "зимовка",
    }
)  # fmt: skip
PLACE_WORDS_AFTER = frozenset({"ауылы", "селосы", "кенти", "кентi", "каласы", "поселогы", "станциясы"})


def name_key(name: object) -> str:
    """The form of a settlement name that matching compares ("" for an empty name)."""
    words = column_key(name or "").split()
    while len(words) > 1 and words[0] in PLACE_WORDS_BEFORE:
        words = words[1:]
    while len(words) > 1 and words[-1] in PLACE_WORDS_AFTER:
        words = words[:-1]
    return " ".join(words)


def name_keys(*names: object) -> set[str]:
    """The non-empty keys of a place's names (its name, kk and ru names…)."""
    return {k for k in (name_key(n) for n in names) if k}
