#!/usr/bin/env python
"""OCR engines measured on pages of our own documents, to choose the default (rag/ocr.py).

Each bundled document (corpus/) gives one A4 page: its first body characters, drawn in Noto Serif CJK SC 12 pt
(Debian fonts-noto-cjk; a 宋体-like face as official documents use) with 1.5 line spacing and 25 mm margins, rendered
at 150 and 300 dpi. Every engine reads every page; reported per engine and dpi: character accuracy
(1 - edit distance / reference length, whitespace ignored, as rag's normalisation ignores it between Chinese
characters) and seconds per page (after a warm-up page, one thread).

    python benchmarks/ocr.py [--json] [--engines tesseract rapidocr] [--dpi 150 300] [--chars 1000]

Timings on a shared machine are noisy: the load average is reported with them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

FONT = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
A4_MM = (210, 297)
MARGIN_MM = 25
FONT_PT = 12


def page_text(path: Path, chars: int) -> str:
    """The first `chars` characters of a bundled document's body, its own line breaks kept."""
    from rag.loaders import load_document
    from rag.textnorm import normalize_text

    doc = load_document(path)
    text = normalize_text(doc.source_text[doc.body_start:])
    return text[:chars]


def render_page(text: str, dpi: int):
    """A white A4 page image with the text wrapped into the margins."""
    from PIL import Image, ImageDraw, ImageFont

    px = lambda mm: round(mm / 25.4 * dpi)  # noqa: E731
    width, height = px(A4_MM[0]), px(A4_MM[1])
    size = round(FONT_PT / 72 * dpi)
    font = ImageFont.truetype(FONT, size)
    image = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(image)
    x0, y, line_h = px(MARGIN_MM), px(MARGIN_MM), round(size * 1.5)
    usable = width - 2 * x0
    lines: list[str] = []
    for para in text.split("\n"):
        line = ""
        for ch in para:
            if draw.textlength(line + ch, font=font) > usable:
                lines.append(line)
                line = ""
            line += ch
        lines.append(line)
    drawn = []
    for line in lines:
        if y + line_h > height - px(MARGIN_MM):
            break
        draw.text((x0, y), line, font=font, fill=0)
        drawn.append(line)
        y += line_h
    return image, "\n".join(drawn)


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def char_accuracy(reference: str, hypothesis: str) -> float:
    ref, hyp = re.sub(r"\s", "", reference), re.sub(r"\s", "", hypothesis)
    return max(0.0, 1 - edit_distance(ref, hyp) / max(1, len(ref)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--engines", nargs="+", default=["tesseract", "rapidocr"])
    ap.add_argument("--dpi", nargs="+", type=int, default=[150, 300])
    ap.add_argument("--chars", type=int, default=1000, help="characters of each document drawn on its page")
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--save-pages", type=Path, help="write the rendered pages here (PNG)")
    args = ap.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    from rag.ocr import get_engine

    docs = sorted((ROOT / "corpus").glob("*.txt"))
    pages = {dpi: [render_page(page_text(p, args.chars), dpi) for p in docs] for dpi in args.dpi}
    if args.save_pages:
        args.save_pages.mkdir(parents=True, exist_ok=True)
        for dpi, items in pages.items():
            for p, (image, _) in zip(docs, items):
                image.save(args.save_pages / f"{p.stem}_{dpi}.png")
    results = []
    for name in args.engines:
        engine = get_engine(name)
        engine.read_image(pages[args.dpi[0]][0][0])  # warm-up: model load, first-call costs
        for dpi in args.dpi:
            accs, secs = [], []
            for image, reference in pages[dpi]:
                t = time.perf_counter()
                text = engine.read_image(image)
                secs.append(time.perf_counter() - t)
                accs.append(char_accuracy(reference, text))
            results.append({"engine": name, "dpi": dpi, "pages": len(accs), "char_accuracy": sum(accs) / len(accs),
                            "min_page_accuracy": min(accs), "seconds_per_page": sum(secs) / len(secs),
                            "chars_per_page": sum(len(re.sub(r"\s", "", r)) for _, r in pages[dpi]) / len(accs)})
    out = {"results": results, "loadavg": os.getloadavg(), "font": FONT, "font_pt": FONT_PT,
           "docs": [p.name for p in docs]}
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    print(f"| engine | dpi | pages | char accuracy | worst page | s/page |  (load avg {out['loadavg'][0]:.1f})")
    print("|---|---|---|---|---|---|")
    for r in results:
        print(f"| {r['engine']} | {r['dpi']} | {r['pages']} | {r['char_accuracy']:.4f} | {r['min_page_accuracy']:.4f} "
              f"| {r['seconds_per_page']:.2f} |")


if __name__ == "__main__":
    main()
