"""Server-side SVG charts (no JavaScript, no CDN, no inline styles: safe under a strict CSP).

Every function returns markup built from escaped text and numbers only. Sizes
are in SVG user units (pixels at 100 % zoom).
"""

from __future__ import annotations

from collections import Counter
from datetime import date

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

FONT = 'font-family="system-ui, sans-serif"'


def _svg(width: int, height: int, body: list[str], title: str) -> SafeString:
    return mark_safe(
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-label="{escape(title)}" {FONT} font-size="11"><title>{escape(title)}</title>'
        + "".join(body)
        + "</svg>"
    )


def _heading(title: str, *, x: int, y: int, width: int) -> str:
    """Bold heading, its font shrunk so that a long (e.g. Kazakh) title still fits the width."""
    size = min(12.0, (width - x - 10) / (0.62 * max(len(title), 1)))
    return f'<text x="{x}" y="{y}" font-weight="bold" font-size="{size:.1f}">{escape(title)}</text>'


def legend(items: list[tuple[str, str]], *, x: int, y: int) -> list[str]:
    out, cx = [], x
    for label, colour in items:
        out.append(f'<rect x="{cx}" y="{y - 9}" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{cx + 14}" y="{y}">{escape(label)}</text>')
        cx += 24 + 6.5 * len(str(label))
    return out


def status_matrix_svg(
    *,
    rows: list[tuple[int, str]],
    columns: list[int],
    matrix: dict[tuple[int, int], Counter],
    order: list[str],
    colours: dict[str, str],
    labels: dict[str, str],
    title: str,
) -> SafeString:
    """Region × measure grid; each cell is a bar split by status, with the total count."""
    left, top, cw, rh = 190, 40, 46, 22
    width, height = left + cw * len(columns) + 10, top + rh * len(rows) + 40
    body = [_heading(title, x=10, y=14, width=width)]
    for j, col in enumerate(columns):
        body.append(f'<text x="{left + j * cw + cw / 2}" y="{top - 6}" text-anchor="middle">{col}</text>')
    for i, (rid, name) in enumerate(rows):
        y = top + i * rh
        body.append(f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(name[:30])}</text>')
        for j, col in enumerate(columns):
            x = left + j * cw
            body.append(f'<rect x="{x}" y="{y}" width="{cw - 2}" height="{rh - 2}" fill="#f1f4f7"/>')
            counts = matrix.get((rid, col))
            if not counts:
                continue
            total = sum(counts.values())
            cx = x
            for code in order:
                n = counts.get(code, 0)
                if n:
                    w = (cw - 2) * n / total
                    body.append(
                        f'<rect x="{cx:.1f}" y="{y}" width="{w:.1f}" height="{rh - 2}" fill="{colours[code]}">'
                        f"<title>{escape(name)} · {col}: {escape(labels[code])} {n}</title></rect>"
                    )
                    cx += w
            body.append(
                f'<text x="{x + cw / 2 - 1}" y="{y + 14}" text-anchor="middle" fill="#fff" font-weight="bold" '
                f'stroke="#000" stroke-width="0.3">{total}</text>'
            )
    body += legend([(labels[c], colours[c]) for c in order], x=10, y=height - 12)
    return _svg(width, height, body, title)


def _x_for(day: date, start: date, end: date, left: int, span: int) -> float:
    return left + span * (day - start).days / max((end - start).days, 1)


def gantt_svg(
    *,
    rows: list[dict],
    as_of: date,
    title: str,
    start: date = date(2023, 1, 1),
    end: date = date(2027, 1, 31),
    colours: dict[str, str],
    deadline_label: str,
    as_of_label: str,
) -> SafeString:
    """One row per facility: a bar from its first stage to its target (or to `as_of`), coloured by
    status; ticks at reached stages; a black mark at its deadline; a red line at `as_of`."""
    left, top, rh, span = 340, 36, 18, 640
    width, height = left + span + 20, top + rh * len(rows) + 30
    body = [_heading(title, x=10, y=14, width=width)]
    for year in range(start.year, end.year + 1):
        x = _x_for(date(year, 1, 1), start, end, left, span)
        body.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 24}" stroke="#dde3e9"/>')
        body.append(f'<text x="{x + 3:.1f}" y="{top - 8}">{year}</text>')
    for i, row in enumerate(rows):
        y = top + i * rh
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(row["label"][:52])}</text>')
        first = row.get("first") or row["deadline"]
        last = row.get("done_on") or max(as_of, first)
        x1, x2 = _x_for(first, start, end, left, span), _x_for(min(last, end), start, end, left, span)
        body.append(
            f'<rect x="{x1:.1f}" y="{y + 3}" width="{max(x2 - x1, 2):.1f}" height="{rh - 6}" '
            f'fill="{colours[row["status"]]}">'
            f"<title>{escape(row['label'])}: {escape(row['status_label'])}</title></rect>"
        )
        for day in row.get("stages", []):
            xs = _x_for(day, start, end, left, span)
            body.append(f'<line x1="{xs:.1f}" y1="{y + 3}" x2="{xs:.1f}" y2="{y + rh - 3}" stroke="#fff"/>')
        xd = _x_for(row["deadline"], start, end, left, span)
        body.append(
            f'<path d="M{xd:.1f},{y + 1} l4,{rh / 2 - 1} l-4,{rh / 2 - 1} l-4,{-(rh / 2 - 1)} z" fill="#000">'
            f"<title>{escape(deadline_label)} {row['deadline']}</title></path>"
        )
    xa = _x_for(as_of, start, end, left, span)
    body.append(
        f'<line x1="{xa:.1f}" y1="{top - 4}" x2="{xa:.1f}" y2="{height - 24}" stroke="#c62828" stroke-width="2"/>'
    )
    body.append(f'<text x="{xa + 3:.1f}" y="{height - 12}" fill="#c62828">{escape(as_of_label)} {as_of}</text>')
    return _svg(width, height, body, title)


def line_chart_svg(
    *,
    points: list[dict],
    series: list[tuple[str, str, str]],
    title: str,
) -> SafeString:
    """Monthly series: `series` is (key in each point, label, colour); x = point["date"]."""
    left, top, w, h = 50, 30, 700, 240
    width, height = left + w + 20, top + h + 60
    body = [_heading(title, x=10, y=16, width=width)]
    if not points:
        return _svg(width, height, body, title)
    ymax = max(max(p[k] for p in points) for k, _l, _c in series) or 1
    n = len(points)
    for t in range(0, 5):
        v = ymax * t / 4
        y = top + h - h * t / 4
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + w}" y2="{y:.1f}" stroke="#dde3e9"/>')
        body.append(f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{v:.0f}</text>')
    for i, p in enumerate(points):
        if p["date"].month in (1, 7):
            x = left + w * i / max(n - 1, 1)
            body.append(f'<text x="{x:.1f}" y="{top + h + 14}" text-anchor="middle">{p["date"]:%Y-%m}</text>')
    for key, _label, colour in series:
        coords = " ".join(
            f"{left + w * i / max(n - 1, 1):.1f},{top + h - h * p[key] / ymax:.1f}" for i, p in enumerate(points)
        )
        body.append(f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>')
    body += legend([(label, colour) for _k, label, colour in series], x=left, y=height - 10)
    return _svg(width, height, body, title)


def kpi_bars_svg(
    *,
    rows: list[tuple[str, float | None]],
    title: str,
    unit: str,
    target: float | None = None,
    target_label: str = "",
    colour: str = "#0b6e99",
) -> SafeString:
    """Horizontal bars (label, value); an optional dashed target line."""
    left, top, rh, span = 190, 40, 18, 460
    values = [v for _l, v in rows if v is not None]
    vmax = max([*values, target or 0, 0.001]) * 1.1
    width, height = left + span + 70, top + rh * len(rows) + 20
    body = [_heading(title, x=10, y=16, width=width)]
    for i, (label, value) in enumerate(rows):
        y = top + i * rh
        body.append(f'<text x="{left - 6}" y="{y + 12}" text-anchor="end">{escape(label[:30])}</text>')
        if value is None:
            body.append(f'<text x="{left + 4}" y="{y + 12}" fill="#5b6b7c">—</text>')
            continue
        w = span * value / vmax
        body.append(f'<rect x="{left}" y="{y + 2}" width="{w:.1f}" height="{rh - 4}" fill="{colour}"/>')
        body.append(f'<text x="{left + w + 4:.1f}" y="{y + 12}">{value:g} {escape(unit)}</text>')
    if target is not None:
        x = left + span * target / vmax
        body.append(
            f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{height - 14}" stroke="#c62828" '
            f'stroke-dasharray="4 3" stroke-width="2"/>'
        )
        body.append(
            f'<text x="{x - 3:.1f}" y="{top - 6}" fill="#c62828" text-anchor="end">'
            f"{escape(target_label)} {target:g} {escape(unit)}</text>"
        )
    return _svg(width, height, body, title)


def kpi_trajectory_svg(
    *,
    targets: dict[int, float],
    actual: dict[int, float],
    title: str,
    target_label: str,
    actual_label: str,
    measured: dict[int, float] | None = None,
    measured_label: str = "",
    plot_width: int = 560,
) -> SafeString:
    """Targets per year (2023 baseline … 2026) against the value estimated as of each year and, when
    given, the value measured (reported) for that year: one bar each, side by side."""
    left, top, w, h = 50, 30, plot_width, 180
    years = sorted(targets)
    measured = measured or {}
    series = [(targets, "#b0bec5", target_label), (actual, "#0b6e99", actual_label)]
    if measured_label:
        series.append((measured, "#2e7d32", measured_label))
    vmax = max([*targets.values(), *actual.values(), *measured.values(), 1]) * 1.1
    width, height = left + w + 30, top + h + 26 + 16 * len(series)
    body = [_heading(title, x=10, y=16, width=width)]
    bw = w / max(len(years), 1)
    slot = (bw - 8) / len(series)
    for i, year in enumerate(years):
        x = left + i * bw
        for j, (values, colour, _label) in enumerate(series):
            if year not in values:
                continue
            vh = h * values[year] / vmax
            sx = x + 6 + j * slot
            body.append(
                f'<rect x="{sx:.1f}" y="{top + h - vh:.1f}" width="{slot - 2:.1f}" height="{vh:.1f}" fill="{colour}"/>'
            )
            body.append(
                f'<text x="{sx + slot / 2 - 1:.1f}" y="{top + h - vh - 3:.1f}" text-anchor="middle">'
                f"{values[year]:g}</text>"
            )
        body.append(f'<text x="{x + bw / 2:.1f}" y="{top + h + 14}" text-anchor="middle">{year}</text>')
    # One legend line per series: the labels are long (they say what is estimated and what measured).
    for j, (_v, colour, label) in enumerate(series):
        body += legend([(label, colour)], x=left, y=top + h + 36 + 16 * j)
    return _svg(width, height, body, title)


def stacked_bars_svg(
    *,
    rows: list[tuple[str, Counter]],
    order: list[str],
    colours: dict[str, str],
    labels: dict[str, str],
    title: str,
    left: int = 300,
    span: int = 520,
) -> SafeString:
    """One horizontal bar per row, split by status, with counts inside the segments; `left` is the room for
    the row labels and `span` the bars' length (narrower for a phone's screen)."""
    top, rh = 34, 20
    width, height = left + span + 20, top + rh * len(rows) + 40
    body = [_heading(title, x=10, y=16, width=width)]
    for i, (label, counts) in enumerate(rows):
        y = top + i * rh
        total = sum(counts.values()) or 1
        body.append(f'<text x="{left - 6}" y="{y + 13}" text-anchor="end">{escape(label[:42])}</text>')
        x = float(left)
        for code in order:
            n = counts.get(code, 0)
            if not n:
                continue
            w = span * n / total
            body.append(
                f'<rect x="{x:.1f}" y="{y + 2}" width="{w:.1f}" height="{rh - 4}" fill="{colours[code]}">'
                f"<title>{escape(label)}: {escape(labels[code])} {n}</title></rect>"
            )
            if w > 14:
                body.append(f'<text x="{x + w / 2:.1f}" y="{y + 13}" text-anchor="middle" fill="#fff">{n}</text>')
            x += w
    body += legend([(labels[c], colours[c]) for c in order], x=10, y=height - 12)
    return _svg(width, height, body, title)
