"""The report as an A4 landscape PDF: repeated table headers, the as-of and DEMO lines and page X of Y on
every page."""

from __future__ import annotations

import bisect
import logging
import math
from datetime import date

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from fpdf import FPDF

from tracking.reports.tables import DATE, NUMBER, TEXT, as_of_line, demo_line, header_lines, is_blank, report_sections

# fpdf2 subsets fonts through fontTools, which logs every glyph at INFO.
logging.getLogger("fontTools").setLevel(logging.WARNING)

PDF_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
PDF_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


# --- PDF -----------------------------------------------------------------------------------------------
#
# The tables are laid out here rather than with FPDF.table(): fpdf2 line-breaks every cell twice through
# its general text engine, which took ~5 s for the consolidated report. Here each cell is measured once
# from the font's glyph widths and wrapped only when it does not fit.

PDF_FONT_SIZE = 6  # pt, table cells
PDF_LINE = 2.3  # mm per text line in a cell
PDF_PAD_X, PDF_PAD_Y = 0.7, 0.2  # mm
PDF_HEADER_FILL = (220, 228, 238)
PDF_TOTAL_FILL = (235, 235, 235)
PDF_STRIPE_FILL = (246, 246, 246)
PDF_RULE = (150, 150, 150)
PDF_DEMO_COLOUR = (180, 0, 0)
PDF_MAX_WORD = 35.0  # mm: longer words are broken rather than widen their column further


class _ReportPDF(FPDF):
    """A4 landscape with a running header (title, as-of line, DEMO line) and "page X of Y" footer."""

    def __init__(self, *, title: str, as_of: str, demo: str, page: str, generated: str):
        super().__init__(orientation="L", format="A4")
        self.running = (title, as_of, demo, page, generated)
        self.set_margins(8, 8, 8)
        self.set_auto_page_break(auto=True, margin=10)
        self.alias_nb_pages()
        self.add_font("DejaVu", "", getattr(settings, "REPORT_PDF_FONT", PDF_FONT))
        self.add_font("DejaVu", "B", getattr(settings, "REPORT_PDF_FONT_BOLD", PDF_FONT_BOLD))

    def header(self):
        title, as_of, demo, _page, _generated = self.running
        self.set_y(5)
        self.set_font("DejaVu", "B", 7.5)
        self.cell(self.get_string_width(title) + 3, 3.4, title)
        self.set_font("DejaVu", "", 7)
        self.cell(0, 3.4, as_of, new_x="LMARGIN", new_y="NEXT")
        if demo:
            self.set_font("DejaVu", "B", 7)
            self.set_text_color(*PDF_DEMO_COLOUR)
            self.cell(0, 3.2, demo, new_x="LMARGIN", new_y="NEXT")
            self.set_text_color(0)
        self.set_draw_color(*PDF_RULE)
        self.set_line_width(0.2)
        self.line(self.l_margin, self.get_y() + 0.6, self.w - self.r_margin, self.get_y() + 0.6)
        self.set_y(self.get_y() + 1.8)

    def footer(self):
        _title, _as_of, _demo, page, generated = self.running
        self.set_y(-8)
        self.set_font("DejaVu", "", 7)
        self.set_text_color(90)
        self.cell(0, 4, generated, align="L")
        self.set_x(self.l_margin)
        self.cell(0, 4, page % {"page": self.page_no(), "pages": "{nb}"}, align="R")
        self.set_text_color(0)


class _Metrics:
    """Widths (mm) of texts in one font face at one size, from the font's glyph widths."""

    def __init__(self, pdf: FPDF, style: str, size: float):
        pdf.set_font("DejaVu", style, size)
        self.style, self.size = style, size
        self.cw = pdf.current_font.cw
        self.scale = size * 0.001 / pdf.k
        self.cache: dict[str, float] = {}

    def width(self, text: str) -> float:
        w = self.cache.get(text)
        if w is None:
            w = self.cache[text] = sum(self.cw[ord(ch)] for ch in text) * self.scale
        return w

    def longest_word(self, text: str) -> float:
        return max((self.width(word) for word in text.split()), default=0.0)

    def wrap(self, text: str, width: float) -> list[str]:
        if "\n" not in text and self.width(text) <= width:
            return [text]
        lines = []
        for paragraph in text.split("\n"):
            line = ""
            for word in paragraph.split():
                candidate = f"{line} {word}" if line else word
                if self.width(candidate) <= width:
                    line = candidate
                    continue
                if line:
                    lines.append(line)
                while self.width(word) > width and len(word) > 1:
                    cut = len(word) - 1
                    while cut > 1 and self.width(word[:cut]) > width:
                        cut -= 1
                    lines.append(word[:cut])
                    word = word[cut:]
                line = word
            lines.append(line)
        return lines


def _pdf_value(value, lang: str) -> str:
    if is_blank(value):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float):
        text = f"{value:,}" if isinstance(value, int) else f"{value:,.2f}"
        # kk/ru: 1 234,56 (a no-break space groups the thousands); en: 1,234.56
        return text if lang == "en" else text.replace(",", "\u00a0").replace(".", ",")
    if isinstance(value, date):
        return value.strftime("%d.%m.%Y")
    return str(value)


def _pdf_widths(header, cells, kinds, body: _Metrics, bold: _Metrics, total: float) -> list[float]:
    """Column widths filling the page that make the table as short as can be.

    Each column needs at least its longest word (numbers and dates: their whole text). The rest of the
    page's width goes, step by step, to the column where it saves the most height per millimetre (a row
    is as tall as its cell with the most lines; a cell of one-line width `t` in a column of inner width
    `w` takes about ceil(t / w) lines). Steps one column at a time stall where a row needs two columns
    widened to lose a line, so the steps also start from widths that put the same share (quantile) of
    every column's cells on one line and none on more than 2 (3, 4) lines; the shortest layout wins."""
    pad = 2 * PDF_PAD_X
    narrow, one_line = [], []
    for i, kind in enumerate(kinds):
        texts = [row[i] for row in cells]
        head = min(bold.longest_word(header[i]), PDF_MAX_WORD)
        full = [body.width(t) for t in texts]
        if kind == TEXT:
            word = min(max((body.longest_word(t) for t in texts if t), default=0.0), PDF_MAX_WORD)
        else:
            word = max(full, default=0.0)
        narrow.append(max(word, head) + pad + 0.05)
        one_line.append(full)
    if sum(narrow) >= total:
        return [w * total / sum(narrow) for w in narrow]
    rows = range(len(cells))

    def lines(full: list[float], width: float) -> list[int]:
        inner = (width - pad) * 0.9  # words do not fill a line to the last millimetre
        return [1 if t <= width - pad else math.ceil(t / inner) for t in full]

    def height(widths: list[float]) -> int:
        counts = [lines(full, w) for full, w in zip(one_line, widths, strict=True)]
        return sum(max(c[r] for c in counts) for r in rows)

    # Widths at which some cell of a column loses a line: t / k (+ padding) for k lines.
    breaks = [sorted({t / k / 0.9 + pad for t in full for k in range(1, 6)}) for full in one_line]

    def grow(widths: list[float]) -> list[float]:
        widths = widths[:]
        counts = [lines(full, w) for full, w in zip(one_line, widths, strict=True)]
        while True:
            spare = total - sum(widths)
            # Per row: its tallest cell's column and lines, and the runner-up's lines.
            tallest = []
            for r in rows:
                ranked = sorted(((c[r], j) for j, c in enumerate(counts)), reverse=True)
                tallest.append((ranked[0][1], ranked[0][0], ranked[1][0] if len(ranked) > 1 else 1))
            best = None
            for i, full in enumerate(one_line):
                others = [second if top == i else h for top, h, second in tallest]
                steps = breaks[i][bisect.bisect_right(breaks[i], widths[i]) :]
                for target in [s for s in steps[:4] if s <= widths[i] + spare]:
                    new = lines(full, target)
                    saved = sum(h - max(o, n) for (_top, h, _second), o, n in zip(tallest, others, new, strict=True))
                    if saved > 0 and (best is None or saved / (target - widths[i]) > best[0]):
                        best = (saved / (target - widths[i]), i, target, new)
            if best is None:
                break
            _gain, i, target, new = best
            widths[i], counts[i] = target, new
        # What no step can use: to the columns still short of one line, in proportion; if none, to text.
        spare = total - sum(widths)
        lack = [max(max(full, default=0.0) + pad, w) - w for w, full in zip(widths, one_line, strict=True)]
        if sum(lack) <= 0:
            lack = [w if kind == TEXT else 0.0 for w, kind in zip(widths, kinds, strict=True)]
        if sum(lack) <= 0:
            lack = widths
        return [w + spare * gap / sum(lack) for w, gap in zip(widths, lack, strict=True)]

    ranked = [sorted(full) for full in one_line]

    def at(q: float, most: int) -> list[float]:
        """Widths that put a share `q` of each column's cells on one line and none on more than `most`."""
        return [
            max(n, r[int(q * (len(r) - 1))] + pad, r[-1] / most / 0.9 + pad) if r else n
            for n, r in zip(narrow, ranked, strict=True)
        ]

    layouts = [grow(narrow)]
    for most in (2, 3, 4):
        if sum(at(0.0, most)) > total:
            continue
        low, high = 0.0, 1.0
        for _step in range(10):
            mid = (low + high) / 2
            low, high = (mid, high) if sum(at(mid, most)) <= total else (low, mid)
        layouts.append(grow(at(high if sum(at(high, most)) <= total else low, most)))
    return min(layouts, key=height)


def _pdf_table(pdf: FPDF, header, rows, kinds, totals, lang: str) -> None:
    body = _Metrics(pdf, "", PDF_FONT_SIZE)
    bold = _Metrics(pdf, "B", PDF_FONT_SIZE)
    cells = [[_pdf_value(v, lang) for v in row] for row in rows]
    total_cells = [_pdf_value(v, lang) for v in totals] if totals else None
    widths = _pdf_widths(header, [*cells, *([total_cells] if total_cells else [])], kinds, body, bold, pdf.epw)
    align = ["R" if k == NUMBER else "C" if k == DATE else "L" for k in kinds]
    inner = [w - 2 * PDF_PAD_X for w in widths]
    pdf.set_draw_color(*PDF_RULE)
    pdf.set_line_width(0.1)

    def draw(texts: list[str], metrics: _Metrics, fill, aligns) -> None:
        lines = [metrics.wrap(t, w) if t else [] for t, w in zip(texts, inner, strict=True)]
        height = max(1, *map(len, lines)) * PDF_LINE + 2 * PDF_PAD_Y
        if pdf.get_y() + height > pdf.page_break_trigger:
            pdf.add_page()
            if texts is not header:
                draw(header, bold, PDF_HEADER_FILL, ["C"] * len(header))
        pdf.set_font("DejaVu", metrics.style, metrics.size)
        x, y = pdf.l_margin, pdf.get_y()
        if fill:
            pdf.set_fill_color(*fill)
            pdf.rect(x, y, sum(widths), height, style="F")
        for cell_lines, w, a in zip(lines, widths, aligns, strict=True):
            for n, line in enumerate(cell_lines):
                if a == "L":
                    tx = x + PDF_PAD_X
                elif a == "R":
                    tx = x + w - PDF_PAD_X - metrics.width(line)
                else:
                    tx = x + (w - metrics.width(line)) / 2
                pdf.text(tx, y + PDF_PAD_Y + n * PDF_LINE + PDF_LINE * 0.75, line)
            pdf.rect(x, y, w, height)
            x += w
        pdf.set_y(y + height)

    draw(header, bold, PDF_HEADER_FILL, ["C"] * len(header))
    for n, row in enumerate(cells):
        draw(row, body, PDF_STRIPE_FILL if n % 2 else None, align)
    if total_cells:
        draw(total_cells, bold, PDF_TOTAL_FILL, align)


def render_pdf(data: dict, lang: str) -> bytes:
    """A4 landscape: an introduction, then each section as a table whose header row repeats on every page;
    the title, as-of and DEMO lines on every page and "page X of Y" in the footer."""
    lines = header_lines(data, lang)
    with translation.override(lang):
        pdf = _ReportPDF(
            title=lines[0],
            as_of=as_of_line(data),
            demo=demo_line() if data["is_demo"] else "",
            page=_("Page %(page)s of %(pages)s"),
            generated=lines[2],
        )
    pdf.add_page()
    pdf.set_font("DejaVu", "B", 13)
    pdf.multi_cell(0, 6, lines[0], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("DejaVu", "", 8)
    pdf.multi_cell(0, 4, lines[3], new_x="LMARGIN", new_y="NEXT")
    for name, header, rows, kinds, totals in report_sections(data, lang, printed=True):
        # A section starts on a new page unless its heading, header row and a few rows fit.
        if pdf.get_y() + 25 > pdf.page_break_trigger:
            pdf.add_page()
        pdf.ln(1.5)
        pdf.set_font("DejaVu", "B", 9)
        pdf.cell(0, 5, name, new_x="LMARGIN", new_y="NEXT")
        if not rows:
            pdf.set_font("DejaVu", "", PDF_FONT_SIZE)
            pdf.cell(0, 4, "—", new_x="LMARGIN", new_y="NEXT")
            continue
        _pdf_table(pdf, header, rows, kinds, totals, lang)
    return bytes(pdf.output())
