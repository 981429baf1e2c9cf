"""Scanned PDFs and page images are read by OCR (the `ocr` extra): a page of a bundled document, rendered to an
image-only PDF at 300 dpi, is indexed and a question about it is answered with a quote verified against the stored
OCR text and marked as OCR. Without the extra, a scan is rejected with a message naming it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from rag.loaders import load_document
from rag.verify import verify_quote

from .conftest import CORPUS, ROOT

pytest.importorskip("pytesseract", reason="the `ocr` extra is not installed")
pytestmark = pytest.mark.skipif(
    subprocess.run(["sh", "-c", "tesseract --list-langs 2>&1 | grep -q chi_sim"]).returncode != 0,
    reason="Debian tesseract-ocr-chi-sim missing: bash scripts/install_tools.sh",
)

SHENZHEN = CORPUS / "003_221e538f8908b282.txt"


def _scan(tmp_path, suffix: str = ".pdf", dpi: int = 300):
    """The first page of a bundled document as a scan: drawn as an image, saved without any text layer."""
    from benchmarks.ocr import page_text, render_page

    image, drawn = render_page(page_text(SHENZHEN, 1000), dpi)
    path = tmp_path / f"scan{suffix}"
    if suffix == ".pdf":
        image.save(path, "PDF", resolution=dpi)
    else:
        image.save(path)
    return path, drawn


def test_scanned_pdf_has_no_text_layer_and_is_read_by_ocr(tmp_path):
    import pdfplumber

    path, drawn = _scan(tmp_path)
    with pdfplumber.open(path) as pdf:
        assert not pdf.pages[0].chars and pdf.pages[0].images  # really a scan
    doc = load_document(path)
    assert doc.metadata["ocr"] is True
    assert doc.metadata["ocr_spans"] == [[0, len(doc.source_text)]]
    assert "营业收入为805亿元" in doc.source_text.replace(" ", "")


def test_page_image_is_read_by_ocr(tmp_path):
    path, _ = _scan(tmp_path, ".png")
    doc = load_document(path)
    assert doc.metadata["encoding"] == "ocr" and doc.metadata["ocr"] is True
    assert "高端医疗器械" in doc.source_text.replace(" ", "")


def test_question_about_a_scanned_page_is_answered_with_a_verified_ocr_quote(tmp_path, settings_factory):
    from rag.assistant import Assistant
    from rag.ingest import ingest
    from rag.render import render_answer_text

    folder = tmp_path / "docs"
    folder.mkdir()
    _scan(folder)
    index_dir = tmp_path / "index"
    report = ingest([folder], settings_factory(index_dir))
    assert report.n_docs == 1 and not report.skipped
    a = Assistant.load(index_dir, settings_factory(index_dir))
    answer = a.ask("2021年深圳市高端医疗器械产业营业收入是多少？")
    assert not answer.refused, answer.text
    c = answer.citations[0]
    assert "805亿元" in c.quote
    record = a.retriever.index.docs[c.doc]
    assert verify_quote(record.doc.source_text, c.start, c.end, c.quote)  # against the stored OCR text
    assert c.ocr and c.to_dict()["ocr"] is True
    assert "OCR 识别文本" in render_answer_text(answer)


def test_without_the_extra_a_scan_is_rejected_naming_it(tmp_path):
    path, _ = _scan(tmp_path, dpi=150)
    # the OCR libraries made unimportable, as on an install without the extra
    code = (
        "import sys; sys.modules['pytesseract'] = None; sys.modules['rapidocr_onnxruntime'] = None\n"
        "from rag.errors import LoadError\nfrom rag.loaders import load_document\n"
        f"try:\n    load_document({str(path)!r})\nexcept LoadError as e:\n    print(e)\n"
    )
    for engine in ("tesseract", "rapidocr"):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                             env={"RAG_OCR_ENGINE": engine, "PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT)})
        assert "扫描件" in out.stdout and "ocr" in out.stdout, (engine, out.stdout, out.stderr)


def test_rag_docs_json_flags_ocr_documents(tmp_path, settings_factory):
    from rag.ingest import ingest

    folder = tmp_path / "docs"
    folder.mkdir()
    _scan(folder, ".png", dpi=150)
    (folder / "plain.txt").write_text("某区关于支持企业发展的通知\n一、支持研发\n对企业研发投入给予补助。\n", encoding="utf-8")
    index_dir = tmp_path / "index"
    ingest([folder], settings_factory(index_dir))
    out = subprocess.run([sys.executable, "-m", "rag.cli", "docs", "--index", str(index_dir), "--json"],
                         capture_output=True, text=True, cwd=ROOT)
    rows = {r["doc"]: r for r in json.loads(out.stdout)}
    assert rows["scan.png"]["ocr"] is True and rows["plain.txt"]["ocr"] is False
