"""The question-understanding stage: one QueryPlan per question (answer type, words, places, years, parts)."""

from __future__ import annotations

import pytest

from rag.query import plan_question


@pytest.mark.parametrize("question, kind, units", [
    ("苏州对小微企业的房租补贴标准是多少？", "amount", {"money"}),
    ("全市要培育多少家上市企业？", "amount", {"org"}),
    ("研发投入占比要达到多少？", "amount", {"percent"}),
    ("这项政策从什么时候开始执行？", "date", set()),
    ("社保费可以缓缴多久？", "duration", {"duration"}),
    ("申请材料包括哪些？", "enumeration", set()),
    ("个体工商户是否可以享受减免？", "yesno", set()),
    ("由哪个部门负责受理？", "org", set()),
    ("服务中心设在哪里？", "place", set()),
    ("如何申请稳岗返还？", "description", set()),
    # closed by 吗 or asked as 'X不X': yes/no, unless another ask word says what is wanted
    ("非全日制用工可以约定试用期吗？", "yesno", set()),
    ("退货的运费商家管不管？", "yesno", set()),
    ("申请材料包括哪些，你知道吗？", "enumeration", set()),
    ("法定工时一天最多几个小时？", "duration", {"duration"}),
    ("山区每人每年要种几棵树？", "amount", {"count"}),
    # a place, a person or a rank asked with 哪个/哪位/第几
    ("这家公司属于哪个国家？", "place", set()),
    ("新工厂选了哪个区？", "place", set()),
    ("这本书的作者是哪位？", "org", set()),
    ("这次博览会是第几届？", "amount", set()),
])
def test_answer_type_and_units(question, kind, units):
    plan = plan_question(question)
    assert plan.answer_type == kind
    if units:
        assert set(plan.unit_classes) == units


def test_terms_drop_ask_words_and_places_and_focus_is_what_is_asked():
    plan = plan_question("湖北省对个体工商户房租有什么减免政策？")
    assert "湖北" in plan.places
    assert not any("湖北" in t for t in plan.terms)  # places are matched as places, not as words
    assert "房租" in plan.terms and "什么" not in plan.terms
    assert set(plan.focus) & {"房租", "减免"}


def test_years_are_read_with_full_width_digits():
    assert plan_question("到２０３０年产业规模目标是多少？").years == (2030,)


def test_places_compared_side_by_side_become_parts_with_labels():
    plan = plan_question("兰州和成都分别对餐饮企业有什么补贴？")
    assert [p.label for p in plan.parts] == ["兰州", "成都"]
    assert "成都" not in plan.parts[0].text and "兰州" not in plan.parts[1].text
    assert all("补贴" in p.terms for p in plan.parts)


def test_a_city_and_its_province_are_one_area_not_a_comparison():
    assert plan_question("湖北省武汉市对企业有哪些补贴？").parts == ()


def test_places_resolve_to_the_documents_about_them(retriever):
    docs = retriever.index.docs
    some = next(iter(docs.values()))
    region = (some.doc.metadata.get("regions") or [some.doc.region])[0]
    from rag.metadata import places_in

    place = places_in(region)[0]
    plan = plan_question(f"{place}的发展目标是什么？", docs)
    assert some.doc.doc_id in plan.docs
    assert plan.missing_places == ()
    # a place no indexed document mentions is known to be missing
    far = plan_question("拉萨市的发展目标是什么？", docs)
    assert far.missing_places == ("拉萨",)


def test_plan_word_lists_come_from_data_and_can_be_overridden(tmp_path):
    from rag.query.plan import answer_type, words

    (tmp_path / "lexicon").mkdir()
    (tmp_path / "lexicon" / "answer_types.txt").write_text("place\t坐标\n", encoding="utf-8")
    assert answer_type("园区的坐标？", words(None)) != "place"
    assert answer_type("园区的坐标？", words(str(tmp_path))) == "place"


def test_a_county_and_its_city_are_one_area():
    """A district belongs to its city through the gazetteer's parents, not only through a shared province."""
    assert plan_question("宁波和鄞州区分别有什么政策？").parts == ()
    assert [p.label for p in plan_question("杭州和宁波分别有什么政策？").parts] == ["杭州", "宁波"]


def test_which_of_a_count_word_asks_for_a_list():
    """'哪几类' asks which ones (an enumeration), '几类' how many (an amount)."""
    from rag.query.plan import answer_type, words

    w = words()
    assert answer_type("要设立哪几类基金？", w) == "enumeration"
    assert answer_type("有哪几家企业入选？", w) == "enumeration"
    assert answer_type("要设立几类基金？", w) == "amount"
    assert answer_type("共有几家企业入选？", w) == "amount"


def test_places_with_words_of_their_own_are_asked_about_one_subject_each():
    """'A园区和B开发区分别…': each part keeps its own subject (the park, the zone), not the other's words; bare
    place names ('兰州和成都对…') keep the words after them, which both share."""
    plan = plan_question("苏州工业园区和无锡高新区分别给人才多少安家补贴？")
    assert [p.question for p in plan.parts] == ["苏州工业园区分别给人才多少安家补贴？", "无锡高新区分别给人才多少安家补贴？"]
    plan = plan_question("兰州和成都对复工企业分别有什么补贴？")
    assert len(plan.parts) == 2 and all("对复工企业" in p.question for p in plan.parts)
    assert "成都" not in plan.parts[0].question and "兰州" not in plan.parts[1].question
