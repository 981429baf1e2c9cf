"""Section-aware chunking of the real corpus: section paths, spans, sizes, story boundaries."""

from __future__ import annotations

import re

import pytest

from rag.chunker import ChunkerSettings, chunk_document, heading_of, section_at
from rag.loaders import document_from_text, load_document
from rag.textnorm import normalize_span

from .conftest import CORPUS

SETTINGS = ChunkerSettings()


@pytest.fixture(scope="module")
def chunked():
    out = {}
    for path in sorted(CORPUS.iterdir()):
        doc = load_document(path)
        out[path.name] = (doc, *chunk_document(doc, SETTINGS))
    return out


def _chunk_with(chunked, name, needle):
    _, chunks, _ = chunked[name]
    found = [c for c in chunks if needle in c.text]
    assert found, f"no chunk of {name} holds {needle!r}"
    return found[0]


@pytest.mark.parametrize(
    "name,needle,path",
    [
        ("000_58192326359d465c.txt", "到2030年产业规模超过500亿元",
         "二、园区布局和产业定位 > （四）新乡市特色治疗设备及高值医用耗材产业园区"),
        ("000_58192326359d465c.txt", "一站四中心四平台", "三、重点任务 > （三）搭建公共服务平台"),
        ("002_f4de1304f989fb29.txt", "每年引进人才不少于8个",
         "二、主要任务 > （一）提升创新策源能力 > 1.发挥科创引领作用"),
        ("003_221e538f8908b282.txt", "营业收入为805亿元", "一、总体情况 > （一）发展现状"),
        ("001_663a42aec9d657f6.txt", "通过出台专项扶持政策", "政策赋能 打造百亿级产业集群"),
    ],
)
def test_section_paths_of_real_clauses(chunked, name, needle, path):
    assert _chunk_with(chunked, name, needle).section_path == path


def test_every_chunk_span_normalises_to_its_text_and_respects_the_size_limit(chunked):
    for name, (doc, chunks, _) in chunked.items():
        assert chunks
        for c in chunks:
            assert c.doc_id == name
            assert normalize_span(doc.source_text, c.start, c.end).text.strip() == c.text
            assert len(c.text) <= SETTINGS.max_chars + 1
            assert c.start >= doc.body_start


def test_unrelated_news_items_get_sections_of_their_own(chunked):
    _, chunks, _ = chunked["001_663a42aec9d657f6.txt"]
    textile = [c for c in chunks if "纺机" in c.text]
    medical = [c for c in chunks if "MedPark" in c.text or "医械产业园" in c.text]
    assert textile and medical
    assert not {c.chunk_id for c in textile} & {c.chunk_id for c in medical}
    assert all("纺机" in c.section_path or "研究院" in c.section_path for c in textile)
    insurance = _chunk_with(chunked, "001_663a42aec9d657f6.txt", "河南恒天久大实业有限公司")
    assert "首台(套)" in insurance.section_path


def test_long_sections_split_at_sentence_ends(chunked):
    _, chunks, _ = chunked["004_265051e95facd373.txt"]
    same_section = [c for c in chunks if c.section_path == chunks[3].section_path]
    assert len(same_section) > 1
    for c in same_section[:-1]:
        assert c.text[-1] in "。！？；”」", c.text[-20:]


def test_front_matter_never_reaches_a_chunk(chunked):
    _, chunks, _ = chunked["000_58192326359d465c.txt"]
    assert not any("abbrlink" in c.text or "categories" in c.text for c in chunks)


def test_section_at_finds_the_deepest_section(chunked):
    doc, _, sections = chunked["000_58192326359d465c.txt"]
    pos = doc.source_text.index("选址位于长垣经开区健康产业园")
    assert section_at(sections, pos) == "二、园区布局和产业定位 > （四）新乡市特色治疗设备及高值医用耗材产业园区"


@pytest.mark.parametrize(
    "line,level,title",
    [
        ("第三章 保障措施", 1, "第三章 保障措施"),
        ("第十二条 对首台（套）产品给予奖励。", 9, "第十二条"),
        ("一、总体要求", 4, "一、总体要求"),
        ("（二）郑州经开区高端医疗仪器设备产业园区。选址位于…", 5, "（二）郑州经开区高端医疗仪器设备产业园区"),
        ("12.推动第三方专业服务。引进长三角地区优质服务机构", 6, "12.推动第三方专业服务"),
        ("（3）完善配套", 7, "（3）完善配套"),
        ("①建设检验检测中心", 8, "①建设检验检测中心"),
        ("龙头引领", 3, "龙头引领"),
    ],
)
def test_heading_patterns(line, level, title):
    assert heading_of(line) == (level, title)


@pytest.mark.parametrize("line", ["2023年，综改区晋中开发区结合我市产业实际，着眼长远发展。", "记者 孙庆辉", "2025.04.10", "3.5亿元"])
def test_body_lines_are_not_headings(line):
    assert heading_of(line) is None


def test_chapter_and_article_structure():
    text = (
        "某市医疗器械产业促进条例\n第一章 总则\n第一条 为了促进医疗器械产业发展，制定本条例。\n"
        "第二条 本条例适用于本市行政区域。\n第二章 扶持措施\n第三条 对新获批的第三类医疗器械，给予一次性奖励。\n"
    )
    doc = document_from_text(text, source="t.txt", doc_id="t.txt")
    chunks, sections = chunk_document(doc, ChunkerSettings(max_chars=300, min_chars=0))
    paths = {s.path for s in sections}
    assert "第二章 扶持措施 > 第三条" in paths
    pos = doc.source_text.index("给予一次性奖励")
    assert section_at(sections, pos) == "第二章 扶持措施 > 第三条"
    assert any(c.section_path == "第一章 总则 > 第一条" and "制定本条例" in c.text for c in chunks)


def test_a_short_unstructured_text_stays_one_chunk_and_a_structured_one_is_split():
    brief = "园区简讯\n" + "园区今年新引进医疗器械企业12家，其中高值医用耗材企业5家。" * 8
    doc = document_from_text(brief, source="b.txt", doc_id="b.txt")
    chunks, _ = chunk_document(doc, ChunkerSettings(max_chars=120, min_chars=20))
    assert len(chunks) == 1 and "企业12家" in chunks[0].text
    numbered = "一、目标\n" + "到2027年产业规模超过100亿元。" * 6 + "\n二、任务\n" + "建设公共服务平台。" * 6
    doc = document_from_text(numbered, source="n.txt", doc_id="n.txt")
    chunks, _ = chunk_document(doc, ChunkerSettings(max_chars=120, min_chars=20))
    assert {c.section_path for c in chunks} == {"一、目标", "二、任务"}


# A notice whose line breaks were lost, as government sites and scraped datasets often deliver them: paragraphs are
# separated by full-width spaces or by nothing at all, headings sit inside the running text.
_GAP = "\u3000\u3000"
FLAT_NOTICE = (
    "某市人民政府办公室关于应对新冠肺炎疫情支持中小企业共渡难关的若干措施 " + _GAP + "各区人民政府，市政府各部门："
    + _GAP + "为深入贯彻落实党中央、国务院决策部署，全力支持中小企业渡过难关，现提出如下措施：" + _GAP
    + "一、减轻企业负担" + _GAP + "（一）减免房租。对承租国有资产类经营用房的中小企业，2月、3月房租全免，4月至6月减半收取；"
    "按照第二条规定已享受减免的，不重复享受。（二）延期缴纳社会保险费。受疫情影响缴费困难的企业可缓缴社会保险费，"
    "缓缴期最长6个月，每户企业减免额度最高1.5万元。二、加大金融支持力度（一）加大信贷投放。"
    "一是对受疫情影响较大的批发零售、住宿餐饮企业不得抽贷、断贷、压贷；二是新增信贷规模向中小企业倾斜。"
    "（二）降低融资成本。1.对到期还款困难的中小企业，可予以展期或续贷。2.对新发放的贷款给予贴息支持。"
    + _GAP + "三、本措施自发布之日起施行，有效期至2020年12月31日。" + _GAP + "某市人民政府办公室" + _GAP + "2020年2月10日"
)


def test_headings_inside_flattened_text_open_sections():
    doc = document_from_text(FLAT_NOTICE, source="flat.txt", doc_id="flat.txt")
    chunks, sections = chunk_document(doc, ChunkerSettings(max_chars=120, min_chars=20))
    # Not sections: '第二条规定' (a reference), '1.5万元' (a number), '一是…二是…' (an enumeration).
    assert [s.path for s in sections] == [
        "一、减轻企业负担",
        "一、减轻企业负担 > （一）减免房租",
        "一、减轻企业负担 > （二）延期缴纳社会保险费",
        "二、加大金融支持力度",
        "二、加大金融支持力度 > （一）加大信贷投放",
        "二、加大金融支持力度 > （二）降低融资成本",
        "二、加大金融支持力度 > （二）降低融资成本 > 1.对到期还款困难的中小企业，可予以展期或续贷",
        "二、加大金融支持力度 > （二）降低融资成本 > 2.对新发放的贷款给予贴息支持",
        "三、本措施自发布之日起施行，有效期至2020年12月31日",
    ]
    assert section_at(sections, doc.source_text.index("最高1.5万元")) == "一、减轻企业负担 > （二）延期缴纳社会保险费"
    assert _chunk_in(chunks, "不得抽贷").section_path == "二、加大金融支持力度 > （一）加大信贷投放"
    for c in chunks:
        assert normalize_span(doc.source_text, c.start, c.end).text.strip() == c.text


def test_a_list_quoted_after_a_colon_nests_under_the_open_question():
    """FAQ pages number their questions 1、2、… and quote a law's （一）（二） list inside an answer: the list items
    belong to the question, and the next question is not nested under the list."""
    faq = (
        "疫情防控法律知识问答 1、医疗机构发现传染病时应当采取哪些措施？ 《传染病防治法》规定，应当及时采取下列措施："
        "（一）对病人予以隔离治疗；（二）对疑似病人在指定场所单独隔离治疗。2、拒绝隔离治疗的如何处理？ 可以由公安机关协助"
        "医疗机构采取强制隔离治疗措施。"
    )
    doc = document_from_text(faq, source="faq.txt", doc_id="faq.txt")
    _, sections = chunk_document(doc, ChunkerSettings(max_chars=120, min_chars=20))
    assert [s.path for s in sections] == [
        "1、医疗机构发现传染病时应当采取哪些措施",
        "1、医疗机构发现传染病时应当采取哪些措施 > （一）对病人予以隔离治疗",
        "1、医疗机构发现传染病时应当采取哪些措施 > （二）对疑似病人在指定场所单独隔离治疗",
        "2、拒绝隔离治疗的如何处理",
    ]


def test_a_document_with_its_own_line_breaks_keeps_its_inline_lists_in_the_article():
    law = (
        "某市医疗器械产业促进条例\n第一章 总则\n第一条 为了促进医疗器械产业发展，制定本条例。\n"
        "第二条 有下列情形之一的，不予奖励：（一）提供虚假材料的；（二）发生重大质量事故的。\n"
        "第三条 本条例自公布之日起施行。\n"
    )
    doc = document_from_text(law, source="law.txt", doc_id="law.txt")
    _, sections = chunk_document(doc, ChunkerSettings(max_chars=300, min_chars=0))
    assert [s.path for s in sections] == ["第一章 总则", "第一章 总则 > 第一条", "第一章 总则 > 第二条",
                                                 "第一章 总则 > 第三条"]


def _chunk_in(chunks, needle):
    found = [c for c in chunks if needle in c.text]
    assert found, needle
    return found[0]


def test_a_flattened_notice_is_titled_by_its_headline_not_its_first_120_characters():
    doc = document_from_text(FLAT_NOTICE, source="flat.txt", doc_id="flat.txt")
    assert doc.title == "某市人民政府办公室关于应对新冠肺炎疫情支持中小企业共渡难关的若干措施"


def test_a_long_sentence_is_never_cut_inside_a_number_with_thousands_separators():
    """A sentence longer than a chunk is split at clause ends; '12,345' holds an ASCII comma that is no clause end,
    so no chunk starts or ends inside such a number."""
    clause = "该区人口约12,345人，面积约6,789平方公里"
    text = "某区概况\n" + "，".join([clause] * 20) + "。\n"
    doc = document_from_text(text, source="t.txt", doc_id="t.txt")
    chunks, _ = chunk_document(doc, ChunkerSettings(max_chars=100, min_chars=0))
    assert len(chunks) > 2
    for c in chunks:
        assert not re.match(r"\d{3}", c.text) and not re.search(r"\d,?$", c.text.rstrip("，。"))
