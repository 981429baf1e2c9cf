"""Official metadata read from real files: 文号, issuing bodies, dates, validity, repeals; the question's own
restrictions; the typed filter. Annotated values are from eval/metadata_gold.jsonl (hand-checked)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.errors import InputError
from rag.eval_sets import expand_path
from rag.filters import Filters, parse_date
from rag.loaders import load_document
from rag.official import cn_date, doc_number
from rag.query import plan_question

ROOT = Path(__file__).resolve().parent.parent
GOLD = [json.loads(line) for line in (ROOT / "eval" / "metadata_gold.jsonl").read_text(encoding="utf-8").splitlines()]
FIXTURES = ROOT / "tests" / "fixtures" / "versions"


def _available(item) -> bool:
    return expand_path(item["file"]).exists()


@pytest.mark.parametrize("item", [g for g in GOLD if "doc_number" in g], ids=lambda g: g["doc_number"])
def test_doc_number_of_real_notices(item):
    if not _available(item):
        pytest.skip("shared/external data not present")
    assert load_document(expand_path(item["file"])).metadata["doc_number"] == item["doc_number"]


def test_cited_document_numbers_are_not_the_documents_own():
    # a notice citing 《…》（京政办发〔2020〕7号） has no number of its own in its opening
    text = "北京市某区关于落实相关政策的说明 2月5日，市政府办公厅印发《关于若干措施》（京政办发〔2020〕7号）。"
    assert doc_number(text) == ""
    assert doc_number("关于加强某项工作的通知 某府办发〔2024〕12号 各区人民政府：") == "某府办发〔2024〕12号"


def test_precision_and_recall_on_the_annotated_sample():
    """The annotated sample: what is extracted is nearly always right, most of what is there is found."""
    items = [g for g in GOLD if _available(g)]
    if len(items) < len(GOLD):
        pytest.skip("shared/external data not present")
    import sys

    sys.path.insert(0, str(ROOT / "scripts"))
    from eval_metadata import score

    result = score(ROOT / "eval" / "metadata_gold.jsonl")
    result.pop("_misses")
    got = sum(r["extracted"] for r in result.values())
    gold = sum(r["gold"] for r in result.values())
    ok = sum(r["correct"] for r in result.values())
    assert ok / got >= 0.9 and ok / gold >= 0.8
    assert result["doc_number"]["precision"] == 1.0


def test_statute_dates_bodies_and_repeal():
    doc = load_document(FIXTURES / "河南省水利工程管理条例(2010年修正).md")
    m = doc.metadata
    assert m["published"] == "2010-07-30"  # last amended
    assert m["effective"] == "1997-10-01"  # 本条例自1997年10月1日起施行
    assert m["issuers"] == ["河南省人民代表大会常务委员会"]
    assert m["repeals"] == ["河南省水利工程管理条例"]  # the 1982 text, repealed by name
    assert m["revisions"] == ["1997-07-25", "2005-03-31", "2010-07-30"]


def test_bundled_document_issuers_and_date():
    m = load_document(ROOT / "corpus" / "003_221e538f8908b282.txt").metadata
    assert m["published"] == "2022-06-06" and len(m["issuers"]) == 5


def test_dates_in_chinese_numerals():
    assert cn_date("二〇二四年三月十一日") == "2024-03-11"
    assert cn_date("2024年2月30日") == ""


def test_question_restrictions_are_read_into_the_plan():
    p = plan_question("2024年以后发布的政策有哪些补贴？")
    assert p.filters.date_from == "2024-01-01" and p.years == ()
    assert plan_question("现行有效的规定有哪些").filters.current
    assert plan_question("2019年之前印发的文件有哪些").filters.date_to == "2018-12-31"
    p = plan_question("和2019年版相比有什么变化？")
    assert p.asks_changes and p.version_year == 2019 and p.filters.older_versions
    # a year the answer is about is not a restriction
    p = plan_question("某市到2025年的产业规模目标是多少？")
    assert not p.filters and p.years == (2025,)


def test_filters_parse_and_refuse_bad_input():
    f = Filters.of({"date_from": "2024", "date_to": "2024-02", "issuers": "人民政府", "current": True})
    assert (f.date_from, f.date_to, f.issuers, f.current) == ("2024-01-01", "2024-02-29", ("人民政府",), True)
    with pytest.raises(InputError, match="日期格式不对"):
        parse_date("2024-13-01")
    with pytest.raises(InputError, match="不认识的筛选条件"):
        Filters.of({"colour": "red"})
    merged = Filters(date_from="2020-01-01").merged(Filters(date_from="2022-01-01", current=True))
    assert merged.date_from == "2022-01-01" and merged.current
