"""Follow-up questions are made standalone before retrieval: by rule without an LLM, by the LLM when configured.

The LLM here is the scripted OpenAI-compatible server of tests/scripted_llm_server.py, which stands in for a
hosted API over real HTTP on loopback.
"""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from rag.assistant import Assistant
from rag.followup import is_followup, mentions, rewrite_by_rules, rewrite_followup
from rag.types import Answer
from rag.verify import verify_quote
from tests.scripted_llm_server import Reply, ScriptedLLMServer

HENAN_Q = "河南省到2027年医疗仪器设备产业规模目标是多少？"
TURN1 = "河南省医疗器械产业的发展目标是什么？"  # both the Henan and the Shenzhen documents answer this kind


# -- rules, no LLM --------------------------------------------------------------------------------------------------
def test_new_year_replaces_the_old_one():
    assert rewrite_by_rules("那2030年呢？", "新乡园区2027年规模目标是多少") == "新乡园区2030年规模目标是多少"


def test_new_place_replaces_the_old_one():
    prev = "河南这个医疗仪器设备园区方案在全省一共布局了几个园区？"
    assert rewrite_by_rules("深圳呢？", prev) == prev.replace("河南", "深圳")


def test_new_place_keeps_the_administrative_suffix_form():
    out = rewrite_by_rules("深圳呢？", HENAN_Q)
    assert out == HENAN_Q.replace("河南省", "深圳市")


def test_year_is_inserted_after_the_subject_when_the_previous_question_had_none():
    assert rewrite_by_rules("那2030年呢？", "新乡园区规模目标是多少") == "新乡园区2030年规模目标是多少"


def test_new_attribute_carries_place_and_year_over():
    out = rewrite_by_rules("那企业数量呢？", "深圳2021年高端医疗器械产业营业收入是多少？")
    assert out == "深圳2021年企业数量是多少？"


def test_a_new_measure_after_a_target_question_asks_for_its_target():
    """'营业收入呢' after a question about a target asks for the target of that measure, not its current figure."""
    assert rewrite_by_rules("营业收入呢？", "深圳的产业增加值目标是多少？") == "深圳营业收入目标是多少？"
    assert rewrite_by_rules("那企业数量呢？", "深圳的产业增加值指标是多少？") == "深圳企业数量指标是多少？"


@pytest.mark.parametrize("followup", ["再加上越城呢？", "把越城也加进来", "加上越城呢"])
def test_a_place_added_to_a_comparison_joins_its_places(followup):
    out = rewrite_by_rules(followup, "比较河南和深圳的人才政策")
    assert out == "比较河南和深圳、越城的人才政策"


def test_an_addition_that_names_nothing_is_left_as_asked():
    assert rewrite_by_rules("再加上呢", "比较河南和深圳的人才政策") == "再加上呢"


def test_a_park_named_after_a_place_swaps_the_place():
    assert rewrite_by_rules("长垣呢", "新乡园区2027年规模目标是多少") == "长垣园区2027年规模目标是多少"


def test_a_new_park_replaces_the_old_park():
    prev = "安阳市智能康复医疗仪器设备产业园区选址在哪个开发区？"
    out = rewrite_by_rules("那航空港区国际医疗仪器设备产业园区呢？", prev)
    assert out == "航空港区国际医疗仪器设备产业园区选址在哪个开发区？"


def test_document_titles_are_entities():
    found = mentions("《深圳市培育发展高端医疗器械产业集群行动计划（2022-2025年）》的目标是什么")
    assert [m.kind for m in found][:1] == ["title"] and not any(m.kind == "year" for m in found)


@pytest.mark.parametrize("question", [
    "深圳2021年高端医疗器械产业营业收入是多少？",
    "航空港区国际医疗仪器设备产业园区选址在哪里？",
])
def test_standalone_questions_are_left_alone(question):
    assert not is_followup(question)
    assert rewrite_followup(question, [(HENAN_Q, "……")]) == question


def test_chained_follow_ups_resolve_turn_by_turn():
    history = [("新乡园区2027年规模目标是多少", "a"), ("那2030年呢？", "b")]
    assert rewrite_followup("长垣呢", history) == "长垣园区2030年规模目标是多少"


@pytest.mark.parametrize("history", [None, [], [("", "")], [None, 3, ("only one",)], [{"role": "user"}]])
def test_no_or_malformed_history_never_crashes(history):
    assert rewrite_followup("深圳呢？", history) == "深圳呢？"


# -- two turns through the Assistant, real index ---------------------------------------------------------------------
def _region_of(assistant: Assistant, answer: Answer) -> str:
    record = assistant.document(answer.hits[0].chunk.doc_id)
    return record.doc.region + record.doc.title


def test_a_place_added_to_a_comparison_gets_its_own_row(assistant):
    first = assistant.ask("比较河南和深圳的人才政策")
    second = assistant.ask("再加上越城呢？", history=[("比较河南和深圳的人才政策", first.text)])
    assert [r.label for r in first.table.rows] == ["河南", "深圳"]
    assert [r.label for r in second.table.rows] == ["河南", "深圳", "越城"]
    assert second.table.rows[2].cells[0].citations  # the added place's own row, cited from its document
    by_n = {c.n: c for c in second.citations}
    assert by_n[second.table.rows[2].cells[0].citations[0]].doc == second.table.rows[2].doc


def test_two_turns_without_llm(assistant):
    first = assistant.ask(TURN1)
    assert "河南" in _region_of(assistant, first)
    second = assistant.ask("深圳呢？", history=[(TURN1, first.text)])
    assert "深圳" in second.rewritten_question and "河南" not in second.rewritten_question
    assert "深圳" in _region_of(assistant, second)  # retrieval used the rewritten question
    docs = assistant.retriever.index.docs
    assert all(verify_quote(docs[c.doc].doc.source_text, c.start, c.end, c.quote) for c in second.citations)
    assert assistant.ask("深圳呢？").rewritten_question == ""  # without history nothing is rewritten


# -- two turns with the scripted LLM ---------------------------------------------------------------------------------
@pytest.fixture
def server():
    with ScriptedLLMServer() as s:
        yield s


def _llm_assistant(retriever, settings, server) -> Assistant:
    s = settings.model_copy(update={"llm": "openai", "llm_base_url": server.base_url,
                                    "llm_api_key": SecretStr("sk-test-followup"), "llm_model": "scripted",
                                    "llm_timeout": 5.0})
    return Assistant(retriever, s)


REWRITTEN = "深圳市高端医疗器械产业到2025年的发展目标是什么？"


def test_two_turns_with_llm_rewrites_then_retrieves_with_the_rewrite(retriever, settings, server):
    assistant = _llm_assistant(retriever, settings, server)
    server.push(Reply(f"改写后的问题：{REWRITTEN}"), Reply("文档中没有找到相关信息"))
    answer = assistant.ask("深圳呢？", history=[(HENAN_Q, "到2027年，产业规模超过700亿元[1]。")])
    rewrite_request, answer_request = server.requests
    assert not rewrite_request.get("stream")  # the rewrite is a plain (non-streaming) completion
    assert HENAN_Q in rewrite_request["messages"][-1]["content"] and "深圳呢？" in rewrite_request["messages"][-1]["content"]
    assert answer.rewritten_question == REWRITTEN
    assert REWRITTEN in answer_request["messages"][-1]["content"] and answer_request["stream"] is True
    assert "深圳" in _region_of(assistant, answer)


def test_llm_rewrite_that_loses_the_new_place_is_replaced_by_the_rule(retriever, settings, server):
    assistant = _llm_assistant(retriever, settings, server)
    server.push(Reply(HENAN_Q), Reply("文档中没有找到相关信息"))  # the model ignored "深圳"
    answer = assistant.ask("深圳呢？", history=[(HENAN_Q, "……")])
    assert answer.rewritten_question == rewrite_by_rules("深圳呢？", HENAN_Q)


def test_llm_rewrite_failure_falls_back_to_the_rule(retriever, settings, server):
    assistant = _llm_assistant(retriever, settings, server)
    server.push(Reply(status=401), Reply("文档中没有找到相关信息"))
    answer = assistant.ask("那2030年呢？", history=[("新乡园区2027年规模目标是多少", "……")])
    assert answer.rewritten_question == "新乡园区2030年规模目标是多少"
