"""Regenerate the PDF documents of the example corpus from their text sources.

Each `pdf_sources/NAME.txt` becomes `corpus/NAME.pdf`: the first line is the title, blank
lines separate paragraphs. The output is byte-for-byte reproducible (fixed creation date), so
the committed PDF can always be rebuilt from the committed text::

    python examples/discovery/make_pdf.py

Needs `fpdf2` (in the `dev` extra).
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

from fpdf import FPDF

HERE = Path(__file__).resolve().parent
_FIXED_DATE = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def render(source: Path, target: Path) -> None:
    """Write `source` (title line, then paragraphs) as a one-column PDF at `target`."""
    title, _, body = source.read_text(encoding="utf-8").partition("\n")
    pdf = FPDF()
    pdf.set_creation_date(_FIXED_DATE)
    pdf.set_title(title.strip())
    pdf.add_page()
    pdf.set_font("Helvetica", style="B", size=16)
    pdf.multi_cell(0, 10, title.strip())
    pdf.set_font("Helvetica", size=11)
    for paragraph in (p.strip() for p in body.split("\n\n")):
        if paragraph:
            pdf.ln(3)
            pdf.multi_cell(0, 6, " ".join(paragraph.split()))
    pdf.output(str(target))


def main(argv: list[str]) -> int:
    """Render every text source; with a directory argument, write the PDFs there instead."""
    out_dir = Path(argv[1]) if len(argv) > 1 else HERE / "corpus"
    for source in sorted((HERE / "pdf_sources").glob("*.txt")):
        target = out_dir / f"{source.stem}.pdf"
        render(source, target)
        print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
