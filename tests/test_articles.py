"""Documents numbered by article (laws, regulations): articles are sections and chunks of their own, items stay
inside their article. Fixtures are real statutes (tests/fixtures/laws, a few articles each)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.chunker import ChunkerSettings, chunk_document, section_at
from rag.loaders import document_from_text, load_document
from rag.textnorm import normalize_span

LAWS = Path(__file__).parent / "fixtures" / "laws"
LABOUR = LAWS / "劳动合同法(2012-12-28).md"
PLANTING = LAWS / "河南省义务植树条例(2018-09-30).md"


@pytest.fixture(scope="module")
def labour():
    doc = load_document(LABOUR)
    return (doc, *chunk_document(doc, ChunkerSettings()))


def test_every_article_is_a_section_under_its_chapter(labour):
    doc, _, sections = labour
    articles = [s.path for s in sections if s.level == 9]
    assert articles == ["第一章 总则 > 第一条", "第二章 劳动合同的订立 > 第十条", "第二章 劳动合同的订立 > 第十四条"]
    pos = doc.source_text.index("劳动者在该用人单位连续工作满十年的")  # item (一) of article 14
    assert section_at(sections, pos) == "第二章 劳动合同的订立 > 第十四条"


def test_articles_never_share_a_chunk_and_a_long_one_keeps_its_heading(labour):
    doc, chunks, _ = labour
    for c in chunks:
        assert normalize_span(doc.source_text, c.start, c.end).text.strip() == c.text
        assert len(re.findall(r"(?m)^第[一二三四五六七八九十百]+条", c.text)) <= 1, c.text
    by_path = {}
    for c in chunks:
        by_path.setdefault(c.section_path, []).append(c)
    ten = by_path["第二章 劳动合同的订立 > 第十条"]
    assert len(ten) == 1 and "劳动关系自用工之日起建立" in ten[0].text  # its three paragraphs (款), one chunk
    fourteen = by_path["第二章 劳动合同的订立 > 第十四条"]
    assert len(fourteen) >= 2  # 324 characters: split, every piece still named 第十四条
    assert fourteen[0].text.startswith("第十四条") and "视为用人单位与劳动者已订立无固定期限劳动合同" in fourteen[-1].text
    assert not any("第十条" in c.text for c in fourteen)
    preamble = [c for c in chunks if not c.section_path]
    assert preamble and "第一条" not in preamble[0].text


def test_a_markdown_section_heading_does_not_run_into_its_first_article():
    text = ("# 某法\n\n## 第六章 涉案财物\n\n### 第二节 向外国请求查封、扣押、冻结涉案财物\n\n"
            "第四十二条 外国可以请求协助查封、扣押、冻结涉案财物。\n\n第四十三条 办案机关应当审查。\n\n"
            "第四十四条 本法自公布之日起施行。\n")
    doc = document_from_text(text, source="t.md", doc_id="t.md")
    _, sections = chunk_document(doc)
    assert "第六章 涉案财物 > 第二节 向外国请求查封、扣押、冻结涉案财物 > 第四十二条" in {s.path for s in sections}


def test_articles_without_chapters(tmp_path):
    doc = load_document(PLANTING)
    chunks, sections = chunk_document(doc)
    assert [s.path for s in sections if s.level == 9] == ["第五条", "第六条", "第十七条"]
    five = [c for c in chunks if c.section_path == "第五条"]
    assert len(five) == 1 and "其他月份开展义务植树活动" in five[0].text  # both of its paragraphs (款)
