"""Normalisation of real corpus snippets, and the offset map back to the source."""

from __future__ import annotations

from rag.textnorm import fold, normalize, normalize_span, normalize_text, sentence_spans

from .conftest import CORPUS


def _raw(name: str) -> str:
    return (CORPUS / name).read_text(encoding="utf-8")


def test_ocr_line_break_inside_sentence_is_joined():
    raw = _raw("001_663a42aec9d657f6.txt")
    assert "付豪则呼吁企业与\n\n科研机构" in raw  # the OCR'd news page breaks this sentence over a blank line
    assert "付豪则呼吁企业与科研机构、金融机构形成合力" in normalize_text(raw)


def test_stray_space_between_chinese_characters_is_removed():
    raw = _raw("001_663a42aec9d657f6.txt")
    assert "在郑 州高新" in raw
    text = normalize_text(raw)
    assert "在郑州高新·数算产业园成功举办" in text
    # a space between ASCII words survives
    assert normalize_text("MedPark Medical  Park") == "MedPark Medical Park"


def test_full_width_indentation_removed_and_headings_kept_on_their_own_line():
    raw = _raw("003_221e538f8908b282.txt")
    assert "\u3000\u3000一、总体情况" in raw
    text = normalize_text(raw)
    assert "\n一、总体情况\n" in text
    news = normalize_text(_raw("001_663a42aec9d657f6.txt"))
    assert "\n政策赋能\n打造百亿级产业集群\n" in news  # short heading lines are not glued to each other or the body


def test_punctuation_is_never_rewritten():
    raw = "4月25日,以\"产业集聚·共享未来\"为主题；力争到2030年产业规模超过500亿元。"
    assert normalize_text(raw) == raw
    assert fold("，；（）") == ",;()"


def test_markup_is_stripped_but_offsets_point_into_the_source():
    raw = _raw("000_58192326359d465c.txt")
    norm = normalize(raw)
    assert "<div" not in norm.text and "**" not in norm.text and "###" not in norm.text
    assert "\n河南省医疗仪器设备产业园区布局建设方案\n" in norm.text
    for ch, off in zip(norm.text, norm.offsets):
        if ch not in " \n":
            assert raw[off] == ch


def test_source_span_round_trips_for_every_sentence_of_every_document():
    for path in sorted(CORPUS.iterdir()):
        raw = path.read_text(encoding="utf-8")
        norm = normalize(raw)
        for a, b in sentence_spans(norm.text)[:40]:
            s, e = norm.source_span(a, b)
            assert normalize_span(raw, s, e).text == norm.text[a:b], (path.name, norm.text[a:b])


def test_sentence_spans_split_at_chinese_and_ascii_ends():
    text = "第一句。第二句！第三句？第四句；第五句\n第六句"
    parts = [text[a:b] for a, b in sentence_spans(text)]
    assert parts == ["第一句。", "第二句！", "第三句？", "第四句；", "第五句", "第六句"]


def test_quote_clauses_keep_commas_inside_quotation_marks_and_brackets():
    """A real clause of the Yuecheng opinions: the comma inside “一核一区，全域发展” does not end a clause."""
    from rag.textnorm import clause_spans, quote_clause_spans

    text = "按照“一核一区，全域发展”布局，加快稽山片区老旧厂区改造提升，鼓励工业企业二次技改（含设备更新，技术改造）。"
    parts = [text[a:b] for a, b in quote_clause_spans(text, 0, len(text))]
    assert parts == ["按照“一核一区，全域发展”布局", "加快稽山片区老旧厂区改造提升",
                     "鼓励工业企业二次技改（含设备更新，技术改造）"]
    # the plain splitter (used for chunk sizing) cuts at every comma and keeps the punctuation
    plain = [text[a:b] for a, b in clause_spans(text, 0, len(text))]
    assert plain[0] == "按照“一核一区" and plain[-1] == "技术改造）。"


def test_a_thousands_separator_is_no_clause_end():
    """'33,700人' is one number: clause splitting (chunk sizing, target reading) never cuts inside it, while a comma
    between clauses still ends one ('1,2,3号线' lists three numbers, not thousands)."""
    from rag.textnorm import clause_spans, quote_clause_spans

    text = "该区人口约33,700人，面积8,386平方公里，开通1,2,3号线。"
    plain = [text[a:b] for a, b in clause_spans(text, 0, len(text))]
    assert plain[:2] == ["该区人口约33,700人", "面积8,386平方公里"]
    assert [text[a:b] for a, b in quote_clause_spans(text, 0, len(text))][:2] == plain[:2]
    assert "开通1" in plain  # not a thousands separator: digits on both sides, but not three after it
