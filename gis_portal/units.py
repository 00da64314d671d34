"""Sizes of files written in the units their limit is set in.

A limit set as `50 * 1024 * 1024` bytes is 50 MiB, and one set as `50_000_000` is 50 MB;
dividing either by 10^6 and writing "MB" (what messages did before) shows 52 MB for
the first. `size_label` finds the family (binary: KiB, MiB, GiB; decimal: kB, MB, GB)
in which a limit is a whole number and writes it there; the size of an uploaded file is
written in the family of the limit it is compared with (`like=`), so the two read alike.
Numbers follow the active language's format (decimal comma in Kazakh and Russian).
"""

from __future__ import annotations

from django.utils.formats import number_format
from django.utils.translation import ngettext, pgettext_lazy

BINARY = (
    (1024**3, pgettext_lazy("unit of file size", "GiB")),
    (1024**2, pgettext_lazy("unit of file size", "MiB")),
    (1024, pgettext_lazy("unit of file size", "KiB")),
)
DECIMAL = (
    (1000**3, pgettext_lazy("unit of file size", "GB")),
    (1000**2, pgettext_lazy("unit of file size", "MB")),
    (1000, pgettext_lazy("unit of file size", "kB")),
)


def _exact_unit(n_bytes: int, units) -> int:
    """The largest unit of `units` of which `n_bytes` is a whole multiple (0 when none)."""
    return next((size for size, _label in units if n_bytes >= size and n_bytes % size == 0), 0)


def size_family(n_bytes: int):
    """BINARY or DECIMAL: the family in which `n_bytes` is a whole number of the larger unit.

    52428800 (50 × 1024²) is binary, 50000000 decimal; a size whole in neither
    (an uploaded file's) is decimal, the units people read on their own computers' disks.
    """
    binary, decimal = _exact_unit(n_bytes, BINARY), _exact_unit(n_bytes, DECIMAL)
    return BINARY if binary > decimal else DECIMAL


def size_label(n_bytes: int, *, like: int | None = None) -> str:
    """`n_bytes` written for people: "50 MiB", "50 MB", "12,3 MB" (ru/kk), "700 bytes".

    The unit family is the one of `like` (a limit the size is compared with) or of
    `n_bytes` itself; the unit is the largest of the family not above `n_bytes`. Whole
    numbers are written without decimals, others with one (two when one would round
    to a whole number, so that 50.04 MiB is not shown as the 50 MiB limit).
    """
    n_bytes = int(n_bytes)
    family = size_family(like if like is not None else n_bytes)
    for size, label in family:
        if n_bytes >= size:
            value = n_bytes / size
            if value == int(value):
                text = number_format(int(value))
            elif round(value, 1) == int(round(value, 1)):
                text = number_format(round(value, 2), decimal_pos=2)
            else:
                text = number_format(round(value, 1), decimal_pos=1)
            return f"{text} {label}"
    return ngettext("%(n)s byte", "%(n)s bytes", n_bytes) % {"n": number_format(n_bytes)}
