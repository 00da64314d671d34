"""Columns and values of parcel files as land offices write them (kk/ru/en): which column feeds which field, and
the values read as the portal stores them. No database here: parcels.services.imports uses it row by row.

Column names are compared after `column_key`: case folded, ё → е, the Kazakh letters folded onto their
Russian look-alikes (ә→а, ғ→г, қ→к, ң→н, ө→о, ұ/ү→у, һ→х, і→и: files typed without a Kazakh keyboard
write them so), Latin look-alikes inside a Cyrillic word read as Cyrillic (a, c, e, i, o, p, x, y, k, m, t,
h, b), punctuation and "_" → spaces, and "№", "N", "No", "Nr", "нөмір(і)" read as "номер". So
"Кадастровый №", "кадастровый_номер" and "КАДАСТРОВЫЙ  НОМЕР" are one name. A Shapefile (DBF) cuts names
to 10 characters (bytes in a single-byte code page such as CP1251); those cut names are recognised too,
unless two fields share one.

Unit-less names ("Площадь", "Ауданы", "area") are not recognised on purpose: the area may be in m²; the user
maps such a column in the preview after checking its unit.

Value readers return the value as stored, or raise ValueError whose text is a plain reason for the user
(parcels.services.imports prefixes it with the column's name as written in the file).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from parcels.export import EXPORT_COLUMNS
from parcels.models import CADASTRAL_REGEX, IMPORT_CHOICE_FIELDS, LandCategory, LandRight, ParcelStatus

# The fields a column can feed: the parcel fields the import reads, and the file's reference to a facility.
FACILITY_REF = "facility_ref"
IMPORT_FIELDS = IMPORT_CHOICE_FIELDS
DBF_NAME_LENGTH = 10

# How a column came to feed its field (ColumnUse.how).
BY_NAME = "name"  # a known name (FIELD_SYNONYMS)
BY_CHOICE = "choice"  # the user's earlier choice in the preview
IGNORED = "ignored"  # the user chose "not used"
UNKNOWN = "unknown"  # not recognised, no choice yet
DUPLICATE = "duplicate"  # names a field an earlier column already feeds
COMPUTED = "computed"  # a column of the portal's exports that the portal computes itself (parcel id, area…)

FIELD_SYNONYMS: dict[str, tuple[str, ...]] = {
    "cadastral_number": (
        "cadastral_number", "cadastral number", "cadastral", "cadastral no", "kad_nomer", "kad nomer", "kn",
        "Кадастровый номер", "Кадастровый №", "Кад. номер", "Кад. №", "КН", "Кадастровый номер участка",
        "Кадастровый номер земельного участка", "Кадастрлық нөмір", "Кадастрлық нөмірі",
        "Жер учаскесінің кадастрлық нөмірі",
    ),
    "declared_area_ha": (
        "declared_area_ha", "declared area", "declared area, ha", "area_ha", "area, ha", "area (ha)",
        "Площадь, га", "Площадь (га)", "Площадь в га", "S, га", "S (га)", "S га", "Площадь участка, га",
        "Площадь земельного участка, га", "Ауданы, га", "Ауданы (га)", "Аумағы, га", "Жер учаскесінің ауданы, га",
    ),
    "land_category": (
        "land_category", "land category", "category", "Категория земель", "Категория земли", "Категория",
        "Целевое назначение земель", "Жер санаты", "Жер санаттары", "Жердің санаты", "Санаты",
    ),
    "right_type": (
        "right_type", "right type", "right", "land right", "Вид права", "Право", "Вид права на землю",
        "Вид права на земельный участок", "Право на землю", "Құқық түрі", "Құқық", "Жерге құқық түрі",
        "Құқықтың түрі",
    ),
    "act_number": (
        "act_number", "act number", "act no", "Номер акта", "№ акта", "Акт №", "Номер госакта", "№ госакта",
        "Номер гос. акта", "Номер идентификационного документа", "Акт нөмірі", "Актінің нөмірі",
        "Мемлекеттік акт нөмірі",
    ),
    "act_date": (
        "act_date", "act date", "Дата акта", "Дата выдачи акта", "Дата выдачи", "Дата госакта", "Дата гос. акта",
        "Акт күні", "Актінің күні", "Берілген күні", "Акт берілген күні",
    ),
    "issuing_akimat": (
        "issuing_akimat", "issuing akimat", "issued by", "akimat", "Кем выдан", "Кем выдан / Акимат", "Акимат",
        "Кем выдан акт", "Орган выдачи", "Выдавший орган", "Кім берді", "Берген орган", "Әкімдік",
    ),
    "term_years": (
        "term_years", "term", "term, years", "term (years)", "Срок, лет", "Срок (лет)", "Срок", "Срок аренды, лет",
        "Срок землепользования, лет", "Срок пользования, лет", "Мерзімі, жыл", "Мерзімі (жыл)", "Мерзімі",
        "Пайдалану мерзімі, жыл",
    ),
    "status": ("status", "Статус", "Состояние", "Статус участка", "Мәртебе", "Мәртебесі", "Күйі"),
    "notes": (
        "notes", "note", "comment", "comments", "remarks", "Примечание", "Примечания", "Комментарий", "Ескерту",
        "Ескертпе", "Ескертулер",
    ),
    FACILITY_REF: (
        "facility_id", "facility", "facility_ref", "facility reference", "reference", "ref", "object", "object id",
        "Объект", "Код объекта", "Номер объекта", "ID объекта", "Объект №", "№ по плану", "Номер по плану",
        "№ объекта по плану", "Нысан", "Нысан коды", "Нысан нөмірі", "Жоспар бойынша №",
    ),
}  # fmt: skip

_KAZAKH_FOLD = str.maketrans("әғқңөұүһі", "агкноуухи")
# Latin letters typed inside Cyrillic words (after casefold): read as the Cyrillic letters they look like.
_LATIN_IN_CYRILLIC = str.maketrans("aceiopxykmthb", "асеиорхукмтнв")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")


def _word_fold(word: str) -> str:
    if _CYRILLIC.search(word):
        word = word.translate(_LATIN_IN_CYRILLIC)
    return word.translate(_KAZAKH_FOLD)


_NUMBER_WORDS = {"n", "no", "nr", "номер", "нөмір", "нөмірі", "номир", "номири"}


def column_key(name: object) -> str:
    """The name of a column as compared with the known names (see the module's docstring)."""
    text = unicodedata.normalize("NFKC", str(name)).casefold().replace("ё", "е").replace("№", " номер ")
    words = re.sub(r"[\W_]+", " ", text).split()
    return " ".join("номер" if w in _NUMBER_WORDS else _word_fold(w) for w in words)


# The columns of the portal's own exports (parcels.export), read back: an exported file, edited and
# uploaded again, updates its parcels by their cadastral numbers.
EXPORT_NAMES: dict[str, str] = {
    column: FACILITY_REF if source in ("facility_id", "facility__reference") else source
    for column, source in EXPORT_COLUMNS.items()
    if source in FIELD_SYNONYMS or source in ("facility_id", "facility__reference")
}


# The other export columns (ids, region, computed area, version…) are the portal's own: never read back.
EXPORT_COMPUTED: frozenset[str] = frozenset(column_key(c) for c in EXPORT_COLUMNS if c not in EXPORT_NAMES)


def _aliases() -> dict[str, str]:
    names: dict[str, str] = {}
    known = [(t, s) for t, synonyms in FIELD_SYNONYMS.items() for s in synonyms]
    for target, synonym in known + [(t, c) for c, t in EXPORT_NAMES.items()]:
        key = column_key(synonym)
        if names.setdefault(key, target) != target:
            raise ValueError(f"column name {synonym!r} is given for {names[key]} and {target}")
    cut: dict[str, set[str]] = {}
    for target, synonyms in FIELD_SYNONYMS.items():
        for synonym in synonyms:
            if len(synonym) > DBF_NAME_LENGTH:
                cut.setdefault(column_key(synonym[:DBF_NAME_LENGTH]), set()).add(target)
    for key, targets in cut.items():
        if len(targets) == 1 and key and key not in names:
            names[key] = next(iter(targets))
    return names


# Normalised column name → field: every synonym and its 10-character Shapefile cut.
IMPORT_ALIASES: dict[str, str] = _aliases()


@dataclass(frozen=True)
class ColumnUse:
    """What one column of the file feeds."""

    column: str  # as written in the file
    key: str  # column_key(column): what a user's choice is remembered by
    field: str  # the field it names (IMPORT_FIELDS), "" when none; fed only when `feeds` says so
    how: str  # BY_NAME, BY_CHOICE, IGNORED, UNKNOWN or DUPLICATE
    other: str = ""  # DUPLICATE: the column that feeds `field`

    @property
    def feeds(self) -> str:
        """The field this column's values go to, "" when they are not used."""
        return self.field if self.how in (BY_NAME, BY_CHOICE) else ""

    @property
    def choosable(self) -> bool:
        """Offered a select in the preview: every column not recognised by its name."""
        return self.key not in IMPORT_ALIASES and self.how != COMPUTED


def columns_resolve(columns: Iterable[object], *, mapping: dict[str, str] | None = None) -> list[ColumnUse]:
    """The use of each column, in file order. `mapping` (column → field, "" = not used; keys as written or
    normalised) applies to the columns not recognised by name. A field named by two columns is fed by the
    first recognised by name, else by the first chosen; the other is a DUPLICATE, not used."""
    choices = {column_key(k): v for k, v in (mapping or {}).items() if v in IMPORT_FIELDS or v == ""}
    names = [str(c) for c in columns]
    keys = [column_key(c) for c in names]
    wanted = [(IMPORT_ALIASES[k], BY_NAME) if k in IMPORT_ALIASES else (choices.get(k, ""), BY_CHOICE) for k in keys]
    fed: dict[str, str] = {}
    for rank in (BY_NAME, BY_CHOICE):
        for name, (target, how) in zip(names, wanted, strict=True):
            if how == rank and target:
                fed.setdefault(target, name)
    uses = []
    for name, key, (target, how) in zip(names, keys, wanted, strict=True):
        if target and fed[target] == name:
            uses.append(ColumnUse(name, key, target, how))
        elif target:
            uses.append(ColumnUse(name, key, target, DUPLICATE, other=fed[target]))
        elif key in EXPORT_COMPUTED and key not in choices:
            uses.append(ColumnUse(name, key, "", COMPUTED))
        else:
            uses.append(ColumnUse(name, key, "", IGNORED if key in choices else UNKNOWN))
    return uses


def file_columns(rows: Iterable[dict]) -> list[str]:
    """Every column name of the rows (attribute dicts), in the order first seen."""
    return list(dict.fromkeys(str(k) for row in rows for k in row))


def column_examples(rows: Iterable[dict], *, length: int = 40) -> dict[str, str]:
    """{column: its first non-empty value, cut to `length` characters}: shown to help choose a field."""
    examples: dict[str, str] = {}
    for row in rows:
        for column, value in row.items():
            if str(column) not in examples and text_clean(value):
                examples[str(column)] = text_clean(value)[:length]
    return examples


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------

_BLANK = re.compile(r"^[\s\-‐‑‒–—―−.]*$")  # empty, or a dash written for "none"


def is_blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and bool(_BLANK.match(value)))


def text_clean(value: object) -> str:
    """Text of a cell, runs of spaces made one (line breaks kept); a whole number read as a float from a
    DBF/Excel number column loses its ".0"."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return re.sub(r"[^\S\n]+", " ", str(value).replace("\r\n", "\n")).strip()


_UNIT_WORDS = re.compile(r"\s*(га|ha|гектар\w*|лет|год\w*|жыл|years?)\.?$", re.IGNORECASE)
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007]+")
_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def number_parse(value: object) -> Decimal | None:
    """A number written with a decimal comma or point and thousands grouped by spaces (NBSP too), points or
    commas: "1 234,5", "1.234,5", "1,234.5". One comma alone is the decimal sign ("1,234" is 1.234); groups
    after the first must have 3 digits. A unit (га, ha, лет, жыл, years) may follow. Raises ValueError
    (without a message) otherwise.
    """
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float, Decimal)):
        number = Decimal(str(value))
    else:
        text = _SPACES.sub(" ", _UNIT_WORDS.sub("", str(value).strip())).strip().replace("−", "-")
        commas, points = text.count(","), text.count(".")
        if commas and points:
            decimal_sign = "," if text.rfind(",") > text.rfind(".") else "."
        else:
            decimal_sign = "," if commas == 1 or points > 1 else "."
        integer, has_fraction, fraction = text.partition(decimal_sign)
        separators = set(re.findall(r"[ ,.]", integer))
        if len(separators) > 1:
            raise ValueError
        if separators:
            sep = re.escape(separators.pop())
            if not re.fullmatch(rf"[+-]?\d{{1,3}}(?:{sep}\d{{3}})+", integer):
                raise ValueError
            integer = re.sub(sep, "", integer)
        text = f"{integer}.{fraction}" if has_fraction else integer
        if not _NUMBER.match(text):
            raise ValueError
        number = Decimal(text)
    if not number.is_finite():
        raise ValueError
    return number


def area_parse(value: object) -> Decimal | None:
    """A declared area in hectares, to 4 decimals (0.0001 ha = 1 m²)."""
    try:
        number = number_parse(value)
        return None if number is None else number.quantize(Decimal("0.0001"))
    except (ValueError, InvalidOperation, ArithmeticError):
        raise ValueError(_("«%(v)s» is not a number of hectares") % {"v": value}) from None


def term_parse(value: object) -> int | None:
    """A term in whole years ("49", "49,0", "49 лет")."""
    try:
        number = number_parse(value)
        if number is None:
            return None
        if number != number.to_integral_value():
            raise ValueError
        return int(number)
    except (ValueError, InvalidOperation, ArithmeticError):
        raise ValueError(_("«%(v)s» is not a whole number of years") % {"v": value}) from None


# Excel stores a date as the number of days since 1899-12-30 (its day 60 is the non-existent 29.02.1900).
EXCEL_EPOCH = date(1899, 12, 30)
# Land acts of the Republic date from the 1990s: a year outside this range is a misread cell (e.g. the
# number 2024 read as an Excel day number, 1905-07-16).
DATE_YEARS = (1950, 2100)
_DAY_FIRST = re.compile(
    r"^(\d{1,2})[./-](\d{1,2})[./-](\d{4})(?:\s*(?:г|ж)\.?)?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_YEAR_FIRST = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\S*)?$")


def date_parse(value: object) -> date | None:
    """A date: dd.mm.yyyy (also with "/" or "-", a time "0:00:00" or "г."), yyyy-mm-dd, a date/datetime, or an
    Excel serial day number. Day first: the Kazakh and Russian way (12/03/2024 is 12 March)."""
    if is_blank(value):
        return None
    reason = _("«%(v)s» is not a date; write it as dd.mm.yyyy") % {"v": value}
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    try:
        if isinstance(value, (int, float, Decimal)) or re.fullmatch(r"\d{1,6}([.,]0+)?", text):
            found = EXCEL_EPOCH + timedelta(days=int(number_parse(value) or 0))
        elif match := _DAY_FIRST.match(text):
            found = date(int(match[3]), int(match[2]), int(match[1]))
        elif match := _YEAR_FIRST.match(text):
            found = date(int(match[1]), int(match[2]), int(match[3]))
        else:
            raise ValueError(reason)
    except (ValueError, OverflowError, ArithmeticError):
        raise ValueError(reason) from None
    if not DATE_YEARS[0] <= found.year <= DATE_YEARS[1]:
        raise ValueError(reason)
    return found


# Letters typed for digits in cadastral numbers: Latin and Cyrillic O/o → 0, Cyrillic З/з → 3, Latin I/l,
# Kazakh/Ukrainian І/і and "|" → 1. Separators: any dash, space (NBSP too), colon, point or slash.
CADASTRAL_LOOKALIKES = str.maketrans("OoОоЗзIlІі|", "00003311111")
_CADASTRAL_SEPARATORS = re.compile(r"[\s\-‐‑‒–—―−:./\\]+")
_CADASTRAL = re.compile(CADASTRAL_REGEX)


def cadastral_parse(value: object) -> str:
    """A cadastral number as NN-NNN-NNN-NNN(N) (CADASTRAL_REGEX): look-alike letters read as digits, any
    separator read as "-", and 11 or 12 bare digits split into 2-3-3-3(4) groups; "" when empty."""
    text = text_clean(value)
    if not text:
        return ""
    groups = [g for g in _CADASTRAL_SEPARATORS.split(text.translate(CADASTRAL_LOOKALIKES)) if g]
    if len(groups) == 1 and groups[0].isdigit() and len(groups[0]) in (11, 12):
        digits = groups[0]
        groups = [digits[:2], digits[2:5], digits[5:8], digits[8:]]
    number = "-".join(groups)
    if not _CADASTRAL.match(number):
        raise ValueError(_("«%(v)s» is not a cadastral number (NN-NNN-NNN-NNN or NN-NNN-NNN-NNNN)") % {"v": value})
    return number


# Values of land category, right and status as written in files: codes, English labels, and the official
# names of the Land Code of the RK (art. 1: the seven categories; art. 32–37: the rights) in Russian and Kazakh.
# A value matches a name exactly, or begins with it (the official names go on with lists in brackets).
CHOICE_SYNONYMS: dict[str, dict[str, tuple[str, ...]]] = {
    "land_category": {
        "settlement": (
            "lands of settlements", "settlement lands", "Земли населенных пунктов", "Населенные пункты",
            "Елді мекендердің жерлері", "Елді мекендер жерлері", "Елді мекендер",
        ),
        "industry": (
            "lands of industry", "industrial lands", "Земли промышленности", "Промышленность",
            "Өнеркәсіп жерлері", "Өнеркәсіп", "Өнеркәсіп, көлік",
        ),
        "agricultural": (
            "agricultural lands", "agricultural", "Земли сельскохозяйственного назначения", "Сельхозназначения",
            "Земли сельхозназначения", "Ауыл шаруашылығы мақсатындағы жерлер", "Ауыл шаруашылығы мақсатындағы",
        ),
        "protected": (
            "specially protected natural areas", "protected areas", "Земли особо охраняемых природных территорий",
            "Земли ООПТ", "ООПТ", "Ерекше қорғалатын табиғи аумақтардың жерлері", "Ерекше қорғалатын табиғи аумақтар",
        ),
        "forest": (
            "forest fund lands", "forest", "Земли лесного фонда", "Лесной фонд", "Орман қорының жерлері", "Орман қоры",
        ),
        "water": ("water fund lands", "water", "Земли водного фонда", "Водный фонд", "Су қорының жерлері", "Су қоры"),
        "reserve": ("reserve lands", "reserve", "Земли запаса", "Запас", "Босалқы жерлер", "Босалқы жер"),
    },
    "right_type": {
        "temporary_paid": (
            "temporary paid land use", "temporary paid", "lease", "Временное возмездное землепользование",
            "Временное возмездное землепользование (аренда)", "Временное возмездное", "Аренда",
            "Уақытша өтеулі жер пайдалану", "Уақытша өтеулі", "Жалға алу",
        ),
        "temporary_free": (
            "temporary free land use", "temporary free", "Временное безвозмездное землепользование",
            "Временное безвозмездное", "Безвозмездное землепользование", "Уақытша өтеусіз жер пайдалану",
            "Уақытша өтеусіз", "Өтеусіз жер пайдалану",
        ),
        "other": (
            "Постоянное землепользование", "Частная собственность", "Государственная собственность",
            "Тұрақты жер пайдалану", "Жеке меншік", "Мемлекеттік меншік", "Иное", "Другое", "Басқа",
        ),
    },
    "status": {
        "candidate": ("proposed", "Кандидат", "Предлагаемый", "Подобран", "Проект", "Үміткер", "Ұсынылған", "Жоба"),
        "allocated": (
            "Выделен", "Выделено", "Отведен", "Предоставлен", "Бөлінген", "Бөлінді", "Берілген",
        ),
        "act_issued": (
            "act issued", "Акт выдан", "Выдан акт", "Госакт выдан", "Акт выдан зарегистрирован", "Акт берілген",
            "Акт берілді", "Мемлекеттік акт берілген",
        ),
        "revoked": ("revoked", "replaced", "Отозван", "Отменен", "Изъят", "Кері қайтарылған", "Күші жойылған"),
    },
}  # fmt: skip

CHOICE_CODES = {
    "land_category": LandCategory,
    "right_type": LandRight,
    "status": ParcelStatus,
}


def _value_key(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value)).casefold().replace("ё", "е")
    return " ".join(_word_fold(w) for w in re.sub(r"[\W_]+", " ", text).split())


def _choice_names() -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for kind, codes in CHOICE_CODES.items():
        names = table.setdefault(kind, {})
        for code in codes.values:
            names[_value_key(code)] = code
        for code, synonyms in CHOICE_SYNONYMS[kind].items():
            for synonym in synonyms:
                if names.setdefault(_value_key(synonym), code) != code:
                    raise ValueError(f"{kind} value {synonym!r} is given for two codes")
    return table


CHOICE_NAMES = _choice_names()


def choice_parse(value: object, *, kind: str) -> str | None:
    """The code of a land category, right or status (`kind`: land_category, right_type, status) written as a
    code, an English label or an official Russian/Kazakh name; None when empty."""
    if is_blank(value):
        return None
    key = _value_key(value)
    names = CHOICE_NAMES[kind]
    if key in names:
        return names[key]
    # The longest name the value begins with, word for word ("Земли населенных пунктов (городов, …)").
    starts = [name for name in names if len(name) > 3 and key.startswith(name + " ")]
    if starts:
        return names[max(starts, key=len)]
    accepted = ", ".join(f"{label} ({code})" for code, label in CHOICE_CODES[kind].choices)
    messages = {
        "land_category": _("«%(v)s» is not a land category; accepted: %(l)s, or its name in the Land Code"),
        "right_type": _("«%(v)s» is not a right to land; accepted: %(l)s, or its name in the Land Code"),
        "status": _("«%(v)s» is not a parcel status; accepted: %(l)s"),
    }
    raise ValueError(messages[kind] % {"v": value, "l": accepted})
