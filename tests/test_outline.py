"""Questions about a document's outline ('一共有几条保障措施', '重点任务有哪几项'): the parts of the section the
question names, counted and listed heading by heading, each heading a verified citation."""

from __future__ import annotations

import pytest

from rag.answer.outline import heading_name
from rag.verify import verify_quote


def test_a_heading_name_drops_its_numbering_and_what_runs_on():
    assert heading_name("四、保障措施") == "保障措施"
    assert heading_name("（一）建立统筹协调机制。建立省发展改革委…") == "建立统筹协调机制"
    assert heading_name("第二章 劳动合同的订立") == "劳动合同的订立"
    assert heading_name("3.强化人才支撑") == "强化人才支撑"


@pytest.mark.parametrize("question, heading, unit", [
    ("河南方案一共有几条保障措施？", "保障措施", "条"),
    ("河南方案的重点任务有哪几项？", "重点任务", "项"),
    ("越城意见的主要任务分为几个方面？", "主要任务", "个方面"),
])
def test_the_parts_of_a_named_section_are_counted_and_cited(question, heading, unit, assistant):
    answer = assistant.ask(question)
    assert answer.backend == "outline" and not answer.refused, answer.text
    doc = answer.citations[0].doc
    record = assistant.retriever.index.docs[doc]
    parent = next(s for s in record.sections if heading_name(s.path.split(" > ")[-1]) == heading)
    inside = [s for s in record.sections if s.path.startswith(parent.path + " > ")]
    parts = [s for s in inside if s.level == min(x.level for x in inside)]
    assert f"“{heading}”共{len(parts)}{unit}：" in answer.text
    assert [c.section for c in answer.citations] == [s.path for s in parts]
    for c in answer.citations:
        assert c.doc == doc and verify_quote(record.doc.source_text, c.start, c.end, c.quote)
        assert f"{c.quote.strip()}[{c.n}]" in answer.text


def test_a_question_that_counts_nothing_or_names_no_section_is_not_an_outline(assistant):
    assert assistant.ask("河南方案的保障措施里对用地有什么支持？").backend != "outline"  # no count asked
    assert assistant.ask("深圳有几家上市企业？").backend != "outline"  # no section named so
