"""Versions on real files: the real 2010 text of a Henan regulation and an older version constructed from it for
these tests (tests/fixtures/versions/README.md says what was edited), indexed beside the bundled corpus."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from rag.verify import verify_quote

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "versions"
NEW = "河南省水利工程管理条例(2010年修正).md"
OLD = "河南省水利工程管理条例(1997年旧版_测试构造).md"


@pytest.fixture(scope="module")
def versions_index(corpus_index, tmp_path_factory, settings_factory) -> Path:
    from rag.ingest import ingest

    index_dir = tmp_path_factory.mktemp("versions") / "index"
    shutil.copytree(corpus_index, index_dir)
    report = ingest([FIXTURES / NEW, FIXTURES / OLD], settings_factory(index_dir))
    assert sorted(report.added) == sorted([NEW, OLD])
    return index_dir


@pytest.fixture(scope="module")
def versions_assistant(versions_index, settings_factory, assistant):
    from rag.assistant import Assistant

    return Assistant.load(versions_index, settings_factory(versions_index), embedder=assistant.retriever.embedder)


def test_the_newer_version_replaces_the_older(versions_assistant):
    info = versions_assistant.retriever.versions
    assert info[OLD].superseded_by == NEW and info[OLD].reason == "repealed"
    assert info[NEW].current and info[NEW].chain == (OLD, NEW)
    assert all(info[d].current and len(info[d].chain) == 1 for d in info if d not in (OLD, NEW))


def test_search_prefers_the_current_version(versions_assistant):
    r = versions_assistant.retriever
    question = "承担大中型水利工程设计、施工、监理的单位必须具备什么条件？"
    assert {h.chunk.doc_id for h in r.search(question, k=8)} & {NEW, OLD} == {NEW}
    both = {h.chunk.doc_id for h in r.search(question, k=8, filters={"older_versions": True})}
    assert {NEW, OLD} <= both
    named = {h.chunk.doc_id for h in r.search(question, k=3, filters={"docs": [OLD]})}
    assert named == {OLD}  # naming a replaced document still searches it


def test_answer_says_the_older_version_differed(versions_assistant):
    answer = versions_assistant.ask("承担大中型水利工程设计、施工、监理的单位必须具备什么条件？")
    docs = {c.doc for c in answer.citations}
    assert NEW in docs and OLD in docs
    assert "旧版" in answer.text and "不同" in answer.text
    sources = {d: r.doc.source_text for d, r in versions_assistant.retriever.index.docs.items()}
    old_cite = next(c for c in answer.citations if c.doc == OLD)
    assert "资格证书" in old_cite.quote and verify_quote(sources[OLD], old_cite.start, old_cite.end, old_cite.quote)


def test_change_table_between_versions(versions_assistant):
    answer = versions_assistant.ask("河南省水利工程管理条例和1997年版相比有什么变化？")
    assert not answer.refused
    rows = [line for line in answer.text.splitlines() if line.startswith("| ") and "---" not in line][1:]
    kinds = sorted(r.split("|")[1].strip() for r in rows)
    assert kinds == ["修改", "修改", "删除", "新增"]
    assert "新增 1 条，删除 1 条，修改 2 条" in answer.text
    changed = [r for r in rows if "罚款" in r][0]
    assert "一千元以上五千元以下" in changed.split("|")[2] and "三千元以上一万元以下" in changed.split("|")[3]
    sources = {d: r.doc.source_text for d, r in versions_assistant.retriever.index.docs.items()}
    assert len(answer.citations) == 6 and {c.doc for c in answer.citations} == {OLD, NEW}
    for c in answer.citations:
        assert verify_quote(sources[c.doc], c.start, c.end, c.quote)
        assert f"[{c.n}]" in answer.text
    added = [r for r in rows if r.split("|")[1].strip() == "新增"][0]
    assert "建设用地" in added and added.split("|")[2].strip() == "—"


def test_change_table_is_a_table_in_json_and_ui(versions_assistant):
    """The change table is a structured table (rendered as one by the UI, exported, in --json), not Markdown text:
    each row's old cell cites the older document and its new cell the newer one."""
    from webui.render import answer_html

    answer = versions_assistant.ask("河南省水利工程管理条例和1997年版相比有什么变化？")
    table = answer.table
    assert table is not None and table.corner == "变化" and len(table.columns) == 2
    assert sorted(r.label for r in table.rows) == ["修改", "修改", "删除", "新增"]
    by_n = {c.n: c for c in answer.citations}
    for row in table.rows:
        old_cell, new_cell = row.cells
        assert all(by_n[n].doc == OLD for n in old_cell.citations)
        assert all(by_n[n].doc == NEW for n in new_cell.citations)
        assert (row.label == "新增") == (not old_cell.citations) and (row.label == "删除") == (not new_cell.citations)
    assert answer.to_dict()["table"]["corner"] == "变化"
    html = answer_html(answer, versions_assistant.retriever.index.docs, "t")
    shown = html.split('<pre class="plain-text"')[0]  # the hidden plain-text copy keeps a Markdown table
    assert '<table class="ans-table">' in shown and "<th>变化</th>" in shown and "| 变化 |" not in shown


def test_metadata_filters_on_real_files(versions_assistant):
    r = versions_assistant.retriever
    q = "发展目标"

    def docs_of(**f):
        return {h.chunk.doc_id for h in r.search(q, k=20, filters=f)}

    assert docs_of(date_from="2022") == {"000_58192326359d465c.txt", "003_221e538f8908b282.txt"}
    assert docs_of(date_to="2000", older_versions=True) == {OLD}
    assert docs_of(issuers=["人民代表大会常务委员会"]) == {NEW}
    assert docs_of(issuers=["深圳市科技创新委员会"]) == {"003_221e538f8908b282.txt"}
    assert docs_of(in_force_on="2000-01-01", older_versions=True) == {OLD}  # the 2010 text was not out yet
    assert OLD not in docs_of(current=True, older_versions=True)
    # the question restricts itself
    assert {h.chunk.doc_id for h in r.search("2022年以后发布的文件的发展目标", k=20)} <= {
        "000_58192326359d465c.txt", "003_221e538f8908b282.txt"}


def test_allowed_documents_read_from_summaries_equal_the_full_check(versions_assistant):
    """Document, region and older-version filters are answered from the store's summaries; the result is the one
    Filters.allows gives document by document (replaced versions hidden unless asked for or named)."""
    from rag.filters import Filters

    from rag.versions import version_map

    r = versions_assistant.retriever
    assert r._replaced_on  # the fixture holds a replaced version
    headers = r.index.doc_headers()  # what the retriever builds version chains from: no document text read
    assert all(h.doc.source_text == "" for h in headers.values())
    assert version_map(headers) == version_map(r.index.docs) == r.versions
    old = next(iter(r._replaced_on))
    region = next(x for s in r.index.summaries.values() for x in s.regions if x)
    cases = [Filters(), Filters(older_versions=True), Filters(docs=(old,)), Filters(regions=(region,)),
             Filters(regions=(region,), older_versions=True), Filters(docs=(old, "no-such-doc"), regions=(region,)),
             Filters(current=True), Filters(date_from="2015-01-01")]
    for f in cases:
        brute = {d for d, rec in r.index.docs.items() if f.allows(rec, r.versions.get(d), r._replaced_on.get(d, ""))}
        assert r.allowed_docs(f) == brute, f
        assert r.allowed_docs(f) == brute, f  # a metadata filter's second use comes from the day's cache
    assert old not in r.allowed_docs(Filters()) and old in r.allowed_docs(Filters(older_versions=True))


def test_cli_docs_shows_metadata_and_versions(versions_index, capsys):
    from rag.cli import main

    assert main(["docs", "--index", str(versions_index), "--json"]) == 0
    rows = {r["doc"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows[OLD]["status"] == "已被替代" and rows[NEW]["status"] == "现行有效"
    assert [v["doc"] for v in rows[NEW]["versions"]] == [OLD, NEW]
    assert rows[NEW]["effective"] == "1997-10-01" and rows["003_221e538f8908b282.txt"]["published"] == "2022-06-06"
    assert main(["search", "水利工程", "--index", str(versions_index), "--date-from", "2024-13"]) == 2
    assert "日期格式不对" in capsys.readouterr().err
    assert main(["search", "水利工程 资质", "--index", str(versions_index), "--issuer", "人民代表大会", "--json"]) == 0
    assert {h["doc"] for h in json.loads(capsys.readouterr().out)} == {NEW}


def test_an_index_stored_without_official_fields_still_loads(versions_index, tmp_path, settings_factory):
    """An index written before the official fields existed: they are read again from the stored text on load."""
    from rag.store import current_generation, load_index

    copy = tmp_path / "old"
    shutil.copytree(versions_index, copy)
    import sqlite3

    with sqlite3.connect(current_generation(copy) / "records.sqlite") as db:  # document records as stored then
        for doc_id, record in db.execute("SELECT doc_id, record FROM docs").fetchall():
            j = json.loads(record)
            j["metadata"] = {k: v for k, v in j["metadata"].items() if k in ("region", "regions", "date", "link")}
            db.execute("UPDATE docs SET record=? WHERE doc_id=?", (json.dumps(j, ensure_ascii=False), doc_id))
    index = load_index(copy)
    assert index.docs[NEW].doc.metadata["published"] == "2010-07-30"
    assert index.docs[OLD].doc.metadata["repeals"] == ["河南省水利工程管理条例"]
    assert len(index.chunks) == len(load_index(versions_index).chunks)


def test_a_real_revised_law_replaces_its_earlier_text():
    """Two real texts of one law (shared/external/laws: as amended in 2018, and as revised in 2022)."""
    from rag.eval_sets import expand_path
    from rag.loaders import load_document
    from rag.store import DocRecord
    from rag.versions import compare, version_map

    folder = expand_path("${POLICYQA_EXTERNAL:-../shared/external}/laws/national")
    names = ["妇女权益保障法(2018-10-26).md", "妇女权益保障法(2022-10-30).md"]
    if not all((folder / n).exists() for n in names):
        pytest.skip("shared/external/laws not present")
    docs = {}
    for n in names:
        doc = load_document(folder / n)
        docs[doc.doc_id] = DocRecord(doc, [], 1)
    info = version_map(docs)
    assert info[names[0]].superseded_by == names[1] and info[names[1]].current
    table = compare(docs[names[0]], docs[names[1]])
    kinds = {c.kind for c in table.changes}
    assert kinds == {"added", "removed", "changed"}
    first = table.changes[0]  # 第一条 gained '和妇女全面发展'
    assert first.kind == "changed" and "妇女全面发展" in first.new.text and "妇女全面发展" not in first.old.text


def test_documents_tab_shows_status_and_version_chain(versions_assistant):
    from webui.handlers import Handlers

    h = Handlers(versions_assistant)
    table = h.documents_table()
    assert "已被替代" in table and "版本：1997-07-25 → " in table
    tree = h.section_tree(NEW)
    assert "版本链" in tree and OLD in tree and "文号" not in tree and "发文机关：河南省人民代表大会常务委员会" in tree
    row = next(r for r in h.documents() if r["doc"] == OLD)
    assert row["superseded_by"] == NEW and row["sections"]
    # the chat's filters reach the retriever: issuer filter, and a bad date is a Chinese message, not a crash
    out = h.ask("承担大中型水利工程设计的单位必须具备什么条件？", issuer="深圳市科技创新委员会")
    assert all(c["doc"] == "003_221e538f8908b282.txt" for c in out.get("citations", []))
    assert "日期格式不对" in h.ask("水利工程", date_from="去年")["error"]
