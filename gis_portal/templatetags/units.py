"""Template filter `size_label`: a byte count in the units people read (gis_portal.units)."""

from __future__ import annotations

from django import template

from gis_portal.units import size_label as _size_label

register = template.Library()


@register.filter
def size_label(n_bytes) -> str:
    """{{ document.size_bytes|size_label }} → "1.2 MB"; empty for a missing size."""
    if n_bytes in (None, ""):
        return ""
    return _size_label(int(n_bytes))
