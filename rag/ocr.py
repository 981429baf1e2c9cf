"""OCR for scanned PDFs and page images, behind one small interface with a name -> engine registry.

Engines: `tesseract` (Debian's tesseract-ocr + tesseract-ocr-chi-sim through pytesseract; the extra `ocr`) and
`rapidocr` (rapidocr-onnxruntime, PP-OCR models shipped in the wheel; the extra `rapidocr`). The default,
Tesseract at 300 dpi, is what benchmarks/ocr.py measured on pages of our own documents (benchmarks/README.md). A
scan read without the extra is rejected with a Chinese message naming it.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Callable, Protocol

from .errors import LoadError

log = logging.getLogger(__name__)

OCR_DPI = 300  # scanned PDF pages are rendered at this resolution before OCR
MISSING = ("这是扫描件或图片，需要 OCR 才能读取：请安装可选组件 ocr（pip install \"policyqa[ocr]\"，"
           "Tesseract 还需 apt-get install tesseract-ocr tesseract-ocr-chi-sim）")
MISSING_RAPIDOCR = "这是扫描件或图片，需要 OCR 才能读取：请安装可选组件 rapidocr（pip install \"policyqa[rapidocr]\"）"


class OcrEngine(Protocol):
    """Reads the text of one page image, line by line."""

    name: str
    dpi: int

    def read_image(self, image) -> str:
        """The text of a PIL image, one line of the page per line of text."""
        ...


class TesseractEngine:
    name = "tesseract"
    dpi = OCR_DPI

    def __init__(self, lang: str = "chi_sim"):
        try:
            import pytesseract
        except ImportError as e:
            raise LoadError(MISSING, "pytesseract not installed (extra 'ocr')") from e
        if shutil.which("tesseract") is None:
            raise LoadError(MISSING, "tesseract binary not on PATH (apt-get install tesseract-ocr)")
        if lang not in pytesseract.get_languages(config=""):
            raise LoadError(MISSING, f"tesseract language data {lang!r} missing (apt-get install tesseract-ocr-chi-sim)")
        self._tess = pytesseract
        self.lang = lang

    def read_image(self, image) -> str:
        # --psm 3: automatic page layout, which keeps paragraphs and table lines apart
        return self._tess.image_to_string(image, lang=self.lang, config="--psm 3")


class RapidOcrEngine:
    name = "rapidocr"
    dpi = OCR_DPI

    def __init__(self):
        try:
            from rapidocr_onnxruntime import RapidOCR
        except ImportError as e:
            raise LoadError(MISSING_RAPIDOCR, "rapidocr-onnxruntime not installed (extra 'rapidocr')") from e
        self._ocr = RapidOCR()

    def read_image(self, image) -> str:
        import numpy as np

        result, _ = self._ocr(np.asarray(image.convert("RGB")))
        return "\n".join(_lines(result or []))


def _lines(boxes) -> list[str]:
    """RapidOCR's text boxes ([corners, text, score]) grouped into lines top to bottom, left to right."""
    items = []
    for corners, text, _score in boxes:
        ys = [p[1] for p in corners]
        items.append((min(ys), max(ys), min(p[0] for p in corners), text))
    items.sort()
    lines: list[list[tuple]] = []
    for item in items:
        top, bottom = item[0], item[1]
        if lines:
            last = lines[-1]
            ltop, lbottom = min(i[0] for i in last), max(i[1] for i in last)
            # the same line when the boxes overlap by more than half the smaller height
            if min(bottom, lbottom) - max(top, ltop) > 0.5 * min(bottom - top, lbottom - ltop):
                last.append(item)
                continue
        lines.append([item])
    return [" ".join(i[3] for i in sorted(line, key=lambda i: i[2])) for line in lines]


ENGINES: dict[str, Callable[[], OcrEngine]] = {"tesseract": TesseractEngine, "rapidocr": RapidOcrEngine}
_CACHE: dict[str, OcrEngine] = {}


def get_engine(name: str) -> OcrEngine:
    """The engine of that name (built once per process)."""
    if name not in ENGINES:
        raise LoadError(f"未知的 OCR 引擎 {name}（可选：{'、'.join(ENGINES)}）", f"unknown OCR engine {name!r}")
    if name not in _CACHE:
        _CACHE[name] = ENGINES[name]()
    return _CACHE[name]


def default_engine() -> OcrEngine:
    """The engine named by settings (RAG_OCR_ENGINE)."""
    from .settings import Settings

    return get_engine(Settings().ocr_engine)


def read_image_file(path: Path, engine: OcrEngine | None = None) -> str:
    """OCR of a page image file (.png, .jpg)."""
    engine = engine or default_engine()
    try:
        from PIL import Image

        with Image.open(path) as im:
            im.load()
            image = im
    except ImportError as e:
        raise LoadError(MISSING, "Pillow not installed") from e
    except Exception as e:
        raise LoadError("无法打开图片（文件损坏或不是 PNG/JPEG）", f"cannot open image: {e}") from e
    text = engine.read_image(image)
    if not text.strip():
        raise LoadError("图片中没有识别出文字", "OCR found no text in the image")
    return text
