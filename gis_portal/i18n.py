"""Helpers for data that carries its own kk/ru/en columns (names from the order, KATO lists)."""

from django.utils.translation import get_language

SUPPORTED = ("kk", "ru", "en")


def current_language() -> str:
    """The active UI language reduced to one of kk/ru/en (kk when unknown)."""
    lang = (get_language() or "kk").split("-")[0]
    return lang if lang in SUPPORTED else "kk"


class LocalizedNameMixin:
    """Gives `.name` from `name_kk` / `name_ru` / `name_en` in the active language.

    Falls back to Kazakh, the language of the order, when a translation is empty.
    """

    def localized(self, field: str) -> str:
        lang = current_language()
        value = getattr(self, f"{field}_{lang}", "") or ""
        return value or getattr(self, f"{field}_kk", "") or ""

    @property
    def name(self) -> str:
        return self.localized("name")

    def __str__(self) -> str:
        return self.name
