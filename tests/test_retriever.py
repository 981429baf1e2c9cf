"""Hybrid retrieval over the real corpus index: fused ranking, per-signal scores, filters, LangChain adapter."""

from __future__ import annotations

import pytest


def test_hybrid_finds_the_park_clause_and_reports_both_signals(retriever):
    hits = retriever.search("新乡那个园区2030年的规模目标是多少？", k=5)
    assert hits[0].chunk.section_path.endswith("（四）新乡市特色治疗设备及高值医用耗材产业园区")
    assert [h.rank for h in hits] == [1, 2, 3, 4, 5]
    assert all(set(h.scores) == {"dense", "keyword"} for h in hits)
    assert hits[0].scores["keyword"] > 0 and hits[0].scores["dense"] > 0
    assert hits[0].score >= hits[-1].score


@pytest.mark.parametrize("mode", ["dense", "keyword"])
def test_single_signal_modes_rank_by_that_signal(retriever, mode):
    hits = retriever.search("深圳市高端医疗器械产业营业收入", k=5, mode=mode)
    values = [h.scores[mode] for h in hits]
    assert values == sorted(values, reverse=True)
    assert hits[0].chunk.doc_id == "003_221e538f8908b282.txt"


def test_region_filter_restricts_to_that_region(retriever):
    hits = retriever.search("医疗器械产业规模目标", k=8, filters={"regions": ["深圳市"]})
    assert hits and {h.chunk.doc_id for h in hits} == {"003_221e538f8908b282.txt"}
    hits = retriever.search("医疗器械产业规模目标", k=8, filters={"regions": ["河南省"]})
    assert {h.chunk.doc_id for h in hits} <= {"000_58192326359d465c.txt", "001_663a42aec9d657f6.txt"}


def test_document_filter(retriever):
    hits = retriever.search("园区", k=3, filters={"docs": ["004_265051e95facd373.txt"]})
    assert hits and all(h.chunk.doc_id == "004_265051e95facd373.txt" for h in hits)


def test_empty_query_and_unknown_filter_give_no_hits(retriever):
    assert retriever.search("   ", k=3) == []
    assert retriever.search("园区", k=3, filters={"regions": ["洛阳市"]}) == []


def test_langchain_retriever_adapter(retriever):
    from langchain_core.retrievers import BaseRetriever

    from rag.langchain_adapter import PolicyQARetriever

    lc = PolicyQARetriever(retriever=retriever, k=3)
    assert isinstance(lc, BaseRetriever)
    docs = lc.invoke("深圳2021年高端医疗器械产业营业收入")
    assert len(docs) == 3
    assert "805亿元" in docs[0].page_content
    assert docs[0].metadata["section"] == "一、总体情况 > （一）发展现状"
    assert docs[0].metadata["doc"] == "003_221e538f8908b282.txt"


def test_a_question_comparing_two_regions_gets_both_near_the_top(retriever):
    question = "河南省和深圳市的医疗器械产业规模目标分别是多少？"
    plan = retriever.plan(question)
    assert [p.label for p in plan.parts] == ["河南省", "深圳市"]
    assert all(p.docs for p in plan.parts)  # each place resolved to its documents
    hits = retriever.search(question, k=5)
    assert {hits[0].chunk.doc_id, hits[1].chunk.doc_id} >= {"003_221e538f8908b282.txt"}
    assert {h.chunk.doc_id for h in hits[:2]} & {"000_58192326359d465c.txt", "001_663a42aec9d657f6.txt"}


def test_a_single_region_question_is_not_decomposed(retriever):
    assert retriever.plan("深圳市2025年产业规模目标是多少？").parts == ()


def test_keyword_search_finds_a_name_the_query_segmentation_cuts_apart(tmp_path, settings_factory):
    """jieba cuts '锦地罗又被称之为什么' as 锦地/罗/又…, while in the document it reads 锦地罗: the keyword signal
    must still match the document that names it (index words across the query's cut are read back)."""
    from rag.ingest import ingest
    from rag.keyword import tokenize
    from rag.retriever import Retriever

    docs = {
        "plant.txt": "锦地罗，又称宽叶毛毡苔，是茅膏菜科的植物，分布在亚洲的热带地区。",
        "insect.txt": "茅膏菜又被称为捕虫草，是一种食虫植物，罗列在多部植物志中。",
        "building.txt": "锦绣地区的罗马式建筑多建于十二世纪，又有哥特式的。",
    }
    folder = tmp_path / "docs"
    folder.mkdir()
    for name, text in docs.items():
        (folder / name).write_text(text, encoding="utf-8")
    s = settings_factory(tmp_path / "index")
    ingest([folder], s)
    retriever = Retriever.load(tmp_path / "index", s)
    question = "锦地罗又被称之为什么？"
    assert "锦地罗" not in tokenize(question, for_query=True)  # the case this test is about
    hits = retriever.search(question, k=3, mode="keyword")
    assert hits[0].chunk.doc_id == "plant.txt"


def test_a_question_about_one_place_prefers_that_places_documents(retriever):
    """'河南省…的发展目标' must not open with Shaoxing's '一、发展目标' section: the place named weighs in."""
    hits = retriever.search("河南省医疗器械产业的发展目标是什么？", k=5)
    henan = {d for d, rec in retriever.index.docs.items() if "河南省" in (rec.doc.metadata.get("regions") or [])}
    assert henan and hits[0].chunk.doc_id in henan
    # a preference, not a filter: other places' clauses may still fill the list
    wide = retriever.search("河南省医疗器械产业的发展目标是什么？", k=30)
    assert any(h.chunk.doc_id not in henan for h in wide)


def test_a_pasted_page_as_query_is_cut_before_embedding(retriever):
    """A 10,000-character query would take the model seconds to read: only its first max_question_chars are
    searched (the answerer tells the user; here the embedder must never see more)."""
    from rag.retriever import Retriever

    seen: list[int] = []

    class Recording:
        name, dim = retriever.embedder.name, retriever.embedder.dim

        def embed_query(self, text):
            seen.append(len(text))
            return retriever.embedder.embed_query(text)

    r = Retriever(retriever.index, Recording(), retriever.settings)
    question = "新乡那个园区2030年的规模目标是多少？"
    hits = r.search(question + "，请详细说明。" * 2000, k=3)
    assert seen and max(seen) <= retriever.settings.max_question_chars
    assert hits[0].chunk.section_path.endswith("（四）新乡市特色治疗设备及高值医用耗材产业园区")


def test_a_retriever_reads_the_word_lists_of_the_index_it_opened(corpus_index, settings_factory, tmp_path):
    """Settings naming another folder (the LangChain adapter's default Settings()) do not make the plan and query
    words read that folder's per-corpus lists."""
    from rag.retriever import Retriever

    r = Retriever.load(corpus_index, settings_factory(tmp_path / "elsewhere"))
    assert r.settings.index_dir == corpus_index
    assert r.plan("研发投入有什么补贴？").index_dir == str(corpus_index)
