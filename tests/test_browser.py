"""The UI in a real browser: Playwright drives Debian's Chromium against `python app.py` on a copy of the index.

Needs /usr/bin/chromium (`bash scripts/install_browser.sh`); a browser download by Playwright fails here.
Screenshots and the measured time from Enter to the first answer text go to tests/artifacts/.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
from pathlib import Path

import pytest

from rag.store import load_index
from rag.textnorm import normalize_span

from .test_app_api import running_app

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: run `bash scripts/install_browser.sh` (apt chromium)"),
]

# Records when Enter is pressed in the question box, when the new answer's first text appears, and when the
# final answer (with its tools row) is in place, all on the page's own clock.
TIMING_JS = """
() => {
  const t = window.__pqaTiming = { enter: null, first: null, final: null };
  const before = document.querySelectorAll('#chat .ans').length;
  document.querySelector('#question textarea').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && t.enter === null) t.enter = performance.now();
  }, { capture: true, once: true });
  document.querySelector('#examples').addEventListener('click', () => {
    if (t.enter === null) t.enter = performance.now();
  }, { capture: true, once: true });
  const check = () => {
    const all = document.querySelectorAll('#chat .ans');
    if (all.length <= before) return;
    const last = all[all.length - 1];
    const text = last.querySelector('.ans-text');
    if (t.first === null && text && text.textContent.trim()) t.first = performance.now();
    if (t.final === null && last.querySelector('.ans-tools')) { t.final = performance.now(); obs.disconnect(); }
  };
  const obs = new MutationObserver(check);
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
}
"""


@pytest.fixture(scope="module")
def browser_index(corpus_index, tmp_path_factory) -> Path:
    dst = tmp_path_factory.mktemp("browser") / "index"
    shutil.copytree(corpus_index, dst)
    return dst


@pytest.fixture(scope="module")
def app_url(browser_index, artifacts_dir):
    with running_app(browser_index, artifacts_dir / "app_browser_server.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):
    ctx = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    pg = ctx.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    dialogs = []
    pg.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    pg.dialogs = dialogs
    pg.goto(app_url)
    pg.wait_for_selector("#question textarea")
    yield pg
    ctx.close()


def ask(page, question: str) -> dict:
    """Type a question, press Enter, wait for the final answer; return the page-side timings in ms."""
    n = page.locator("#chat .ans-tools").count()
    page.evaluate(TIMING_JS)
    page.fill("#question textarea", question)
    page.press("#question textarea", "Enter")
    page.wait_for_function(f"document.querySelectorAll('#chat .ans-tools').length > {n}")
    t = page.evaluate("window.__pqaTiming")
    return {"first_text_ms": t["first"] - t["enter"], "final_ms": t["final"] - t["enter"]}


def last_answer(page):
    return page.locator("#chat .ans").last


def open_citation(page, n: int = 1):
    """Click [n] in the last answer; return (card locator, cited doc id, start, end) read from the card."""
    ans = last_answer(page)
    ref = ans.locator("a.cite-ref", has_text=f"[{n}]").first
    card_id = ref.get_attribute("href")[1:]
    ref.click()
    card = page.locator(f"details#{card_id}")
    meta = card.locator(".cite-meta span").first.text_content()
    m = re.match(r"(.+) · 第 (\d+)–(\d+) 字", meta)
    assert m, meta
    return card, m.group(1), int(m.group(2)), int(m.group(3))


def is_highlighted(locator) -> bool:
    color = locator.evaluate("e => getComputedStyle(e).backgroundColor")
    return color not in ("rgba(0, 0, 0, 0)", "transparent", "")


def make_docx(path: Path, title: str, sections: list[tuple[str, str]]) -> Path:
    import docx

    d = docx.Document()
    d.add_heading(title, 1)
    for heading, text in sections:
        d.add_heading(heading, 2)
        d.add_paragraph(text)
    d.save(str(path))
    return path


def upload(page, path: Path) -> str:
    """Upload one file in the Documents tab; return the status text once indexing finished."""
    page.get_by_role("tab", name="📚 文档库").click()
    page.set_input_files("#upload-files input[type=file]", str(path))
    page.locator(f'#upload-files td.filename[aria-label="{path.name}"]').wait_for()  # the file reached the server
    page.click("#upload-button")
    page.locator("#upload-status", has_text=path.name).wait_for()
    return page.locator("#upload-status").inner_text()


def test_ask_stream_click_citation_and_copy(page, browser_index, artifacts_dir):
    # an example question is one click away (the first question after the page loaded)
    page.evaluate(TIMING_JS)
    page.locator("#examples button").first.click()
    page.wait_for_selector("#chat .ans-tools")
    t = page.evaluate("window.__pqaTiming")
    first_after_load = {"first_text_ms": t["first"] - t["enter"], "final_ms": t["final"] - t["enter"]}
    questions = ["新乡市的园区到2030年产业规模目标是多少？", "深圳市高端医疗器械产业集群到2025年的发展目标是什么？",
                 "航空港区国际医疗仪器设备产业园区选址在哪里？"]
    timings = [ask(page, q) for q in questions]
    first = [t["first_text_ms"] for t in timings]
    record = {"questions": questions, "timings": timings, "median_first_text_ms": statistics.median(first),
              "example_click_after_page_load": first_after_load}
    (artifacts_dir / "browser_timings.json").write_text(json.dumps(record, ensure_ascii=False, indent=1))
    print(f"\ntime from Enter to first answer text (warm): {[round(x) for x in first]} ms, "
          f"median {statistics.median(first):.0f} ms; to final answer: {[round(t['final_ms']) for t in timings]} ms; "
          f"first question after page load (example click): {first_after_load['first_text_ms']:.0f} ms")

    # the last answer (airport park site) has at least one citation; click [1]
    card, doc, start, end = open_citation(page, 1)
    assert card.evaluate("e => e.open")
    quote = card.locator("mark.cite-quote")
    quote.wait_for(state="visible")
    assert is_highlighted(quote)
    source = load_index(browser_index).docs[doc].doc.source_text
    assert quote.text_content() == normalize_span(source, start, end).text.strip()
    assert card.locator(".cite-sec").text_content()  # the section path is shown
    # the source view shows the whole document, scrolled to the same clause, highlighted
    mark = page.locator("#source-view #src-mark")
    mark.wait_for(state="visible")
    page.wait_for_function("document.querySelector('#source-view #src-mark') && "
                           "!document.querySelector('#source-view').classList.contains('src-loading')")
    assert mark.text_content() == source[start:end]
    assert is_highlighted(mark)
    page.wait_for_timeout(300)
    box = page.locator("#source-view pre.src-text").bounding_box()
    mbox = mark.bounding_box()
    assert box["y"] <= mbox["y"] and mbox["y"] + mbox["height"] <= box["y"] + box["height"] + 1, (box, mbox)
    page.screenshot(path=str(artifacts_dir / "chat_citation.png"))

    # copy: the answer with its sources as plain text
    last_answer(page).locator("a.copy-ans").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "来源：" in copied and quote.text_content() in copied and card.locator(".cite-sec").text_content() in copied
    assert "<" not in copied


def test_feedback_vote_is_logged(page, browser_index):
    log = browser_index / "feedback.jsonl"
    before = log.read_text(encoding="utf-8").count("\n") if log.exists() else 0
    ask(page, "绍兴市越城区医疗器械产业的发展目标有哪些？")
    page.locator("#chat button[aria-label='赞'], #chat button[aria-label='Like']").last.click()
    for _ in range(50):
        if log.exists() and log.read_text(encoding="utf-8").count("\n") > before:
            break
        page.wait_for_timeout(100)
    row = json.loads(log.read_text(encoding="utf-8").splitlines()[-1])
    assert row["vote"] == "up" and row["question"] == "绍兴市越城区医疗器械产业的发展目标有哪些？"
    assert row["answer"] and isinstance(row["citations"], list)


def test_upload_docx_ask_about_it_and_documents_tab(page, tmp_path, browser_index, artifacts_dir):
    title = "示范市智能网联汽车产业发展行动方案"
    path = make_docx(tmp_path / "智能网联汽车方案.docx", title, [
        ("一、发展目标", "到2027年，示范市智能网联汽车产业规模突破1200亿元，建成车路协同示范道路300公里。"),
        ("二、重点任务", "建设智能网联汽车测试场2个，开放测试道路500公里，培育整车企业5家。"),
    ])
    status = upload(page, path)
    assert "已添加" in status, status
    assert title in page.locator("#doc-table").inner_text()
    # the new document's section tree is shown; open a section to read its text
    tree = page.locator("#section-tree")
    tree.locator("summary", has_text="一、发展目标").click()
    assert "1200亿元" in tree.locator("details[open] .sec-text").first.inner_text()
    page.screenshot(path=str(artifacts_dir / "documents_tab.png"), full_page=True)

    page.get_by_role("tab", name="💬 问答").click()
    ask(page, "示范市建成车路协同示范道路多少公里？")
    card, doc, start, end = open_citation(page, 1)
    assert doc == path.name and title in card.locator(".cite-title").inner_text()
    quote = card.locator("mark.cite-quote")
    quote.wait_for(state="visible")
    assert "300公里" in quote.inner_text() and is_highlighted(quote)

    # and it can be removed again
    page.get_by_role("tab", name="📚 文档库").click()
    page.click("#remove-button")
    page.locator("#upload-status", has_text="已删除").wait_for()
    assert title not in page.locator("#doc-table").inner_text()
    assert path.name not in load_index(browser_index).docs
    # after the removal the first corpus document is shown: open a subsection inside its parent
    tree = page.locator("#section-tree")
    tree.locator("summary", has_text="二、园区布局和产业定位").first.click()
    sub = tree.locator("summary", has_text="（四）新乡市特色治疗设备及高值医用耗材产业园区").first
    sub.click()
    assert "500亿元" in sub.locator("xpath=..").locator(".sec-text").first.inner_text()
    page.screenshot(path=str(artifacts_dir / "documents_tab_sections.png"), full_page=True)


def test_script_in_an_uploaded_document_never_runs(page, tmp_path, artifacts_dir):
    path = tmp_path / "脚本测试通知.txt"
    payload = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
    path.write_text(
        "脚本测试通知\n\n一、经费安排\n脚本测试专项经费为每年七千万元。\n"
        f"附件：{payload} {{{{7*7}}}} ${{1+1}}\n",
        encoding="utf-8",
    )
    status = upload(page, path)
    assert "已添加" in status, status
    page.eval_on_selector_all("#section-tree details", "els => els.forEach(e => { e.open = true; })")
    assert "window.xss=1" in page.locator("#section-tree").inner_text() or "window.__xss=1" in page.locator(
        "#section-tree").inner_text()  # the section text (normalised: tags dropped) shows, nothing runs
    page.get_by_role("tab", name="💬 问答").click()
    ask(page, "脚本测试专项经费每年多少？")
    ans = last_answer(page)
    if ans.locator("a.cite-ref").count():
        open_citation(page, 1)
    else:  # a refusal lists the passage as 可能相关 with its own 查看原文 link
        ans.locator("a.view-src").first.click()
    page.locator("#source-view #src-mark").wait_for(state="visible")
    text = page.locator("#source-view pre.src-text").text_content()
    assert payload in text and "{{7*7}}" in text and "${1+1}" in text  # shown literally, as written
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.locator("#source-view img, #chat img[src='x'], #section-tree img").count() == 0
    assert page.locator("#source-view script, #chat script").count() == 0
    assert not page.dialogs
    page.screenshot(path=str(artifacts_dir / "xss_source_view.png"))


def test_article_lookup_and_a_cross_reference_in_the_source_view(page, artifacts_dir):
    # a real regulation excerpt (tests/fixtures/laws): its 第十七条 refers to 第六条 ('违反本条例第六条规定')
    law = Path(__file__).parent / "fixtures" / "laws" / "河南省义务植树条例(2018-09-30).md"
    status = upload(page, law)
    assert "已添加" in status, status
    page.get_by_role("tab", name="💬 问答").click()
    ask(page, "《河南省义务植树条例》第十七条规定了什么？")
    text = last_answer(page).locator(".ans-text").inner_text()
    assert "违反本条例第六条规定" in text and "[1]" in text
    card, doc, start, end = open_citation(page, 1)
    assert doc == law.name
    page.wait_for_function("document.querySelector('#source-view #src-mark') && "
                           "!document.querySelector('#source-view').classList.contains('src-loading')")
    assert page.locator("#source-view #src-mark").text_content().startswith("第十七条")
    link = page.locator("#source-view a.xref", has_text="本条例第六条")
    link.click()
    page.wait_for_function("(document.querySelector('#source-view #src-mark') || {}).textContent"
                           "?.startsWith('第六条')")
    assert is_highlighted(page.locator("#source-view #src-mark"))
    page.screenshot(path=str(artifacts_dir / "article_cross_reference.png"))


def test_targets_tab_filters_to_a_year_and_a_click_shows_the_clause(page, browser_index, artifacts_dir):
    page.get_by_role("tab", name="📊 指标").click()
    page.wait_for_selector("#targets-table tr.target-row")
    page.locator("#targets-year label", has_text="2025").first.click()
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('#targets-table tr.target-row')];"
        " return rows.length > 0 && rows.every(r => r.querySelector('.target-year').textContent.trim() === '2025'); }")
    index = load_index(browser_index)
    expected = [t for t in index.targets if t.year == 2025]
    rows = page.locator("#targets-table tr.target-row")
    assert rows.count() == len(expected) >= 3
    link = rows.nth(1).locator("a.target-link")
    m = re.match(r"#src=(.+)&s=(\d+)&e=(\d+)", link.get_attribute("href"))
    doc, start, end = m.group(1), int(m.group(2)), int(m.group(3))
    target = next(t for t in expected if (t.doc, t.start, t.end) == (doc, start, end))
    assert link.text_content() == target.quote
    link.click()
    page.wait_for_function("document.querySelector('#targets-source #src-mark') && "
                           "!document.querySelector('#targets-source').classList.contains('src-loading')")
    mark = page.locator("#targets-source #src-mark")
    source = index.docs[doc].doc.source_text
    assert mark.text_content() == source[start:end]
    assert normalize_span(source, start, end).text.strip() == target.quote
    assert is_highlighted(mark)
    page.screenshot(path=str(artifacts_dir / "targets_tab.png"), full_page=True)


def test_targets_tab_shows_an_uploaded_documents_targets_and_drops_them_on_removal(page, tmp_path, artifacts_dir):
    title = "测试市储能产业发展实施方案"
    path = make_docx(tmp_path / "测试市储能方案.docx", title, [
        ("一、发展目标", "到2031年，测试市新型储能产业规模力争突破666亿元，建成储能电站28座。"),
    ])
    page.get_by_role("tab", name="📊 指标").click()
    page.wait_for_selector("#targets-table tr.target-row")
    assert page.locator("#targets-year label", has_text="2031").count() == 0
    status = upload(page, path)
    assert "已添加" in status, status
    # no reload: the tab's year choices and table follow the upload
    page.get_by_role("tab", name="📊 指标").click()
    page.locator("#targets-year label", has_text="2031").first.click()
    page.wait_for_function(
        "() => { const rows = [...document.querySelectorAll('#targets-table tr.target-row')];"
        " return rows.length > 0 && rows.every(r => r.querySelector('.target-year').textContent.trim() === '2031'); }")
    table = page.locator("#targets-table").inner_text()
    assert "666" in table and "28" in table
    page.screenshot(path=str(artifacts_dir / "targets_tab_after_upload.png"), full_page=True)
    page.get_by_role("tab", name="📚 文档库").click()
    page.click("#remove-button")  # the uploaded document is the one shown
    page.locator("#upload-status", has_text="已删除").wait_for()
    page.get_by_role("tab", name="📊 指标").click()
    page.wait_for_function("() => ![...document.querySelectorAll('#targets-year label')]"
                           ".some(l => l.textContent.includes('2031'))")
    page.wait_for_selector("#targets-table tr.target-row")
    assert "666" not in page.locator("#targets-table").inner_text()


def test_export_an_answer_to_docx_and_read_it_back(page, tmp_path, artifacts_dir):
    import urllib.request

    import docx

    n = page.locator("#chat .ans-tools").count()
    page.fill("#question textarea", "比较河南、深圳、绍兴对医疗器械企业的资金支持")
    page.press("#question textarea", "Enter")
    # a table is one retrieval per cell: give a loaded machine more time than one quote needs
    page.wait_for_function(f"document.querySelectorAll('#chat .ans-tools').length > {n}", timeout=4 * TIMEOUT_MS)
    table = last_answer(page).locator("table.ans-table")
    assert table.locator("tbody tr").count() == 3
    page.locator("#export-button").click()
    page.wait_for_selector("#export-files a[href*='.docx']")
    href = page.locator("#export-files a[href*='.docx']").first.get_attribute("href")
    url = href if href.startswith("http") else page.url.rstrip("/") + "/" + href.lstrip("/")
    path = tmp_path / "answer.docx"
    with urllib.request.urlopen(url, timeout=30) as r:
        path.write_bytes(r.read())
    d = docx.Document(str(path))
    text = "\n".join(p.text for p in d.paragraphs)
    assert "比较河南、深圳、绍兴对医疗器械企业的资金支持" in text
    assert "来源" in text and "出处：" in text
    rows = [[c.text for c in r.cells] for r in d.tables[0].rows]
    assert rows[0] == ["地区/文件", "资金支持"] and [r[0] for r in rows[1:]] == ["河南", "深圳", "绍兴"]
    # every [n] in the table has its source in the appendix, with the quote shown in the chat's card
    for n in re.findall(r"\[(\d+)\]", "".join(r[1] for r in rows[1:])):
        assert f"[{n}] 《" in text
    cards = last_answer(page).locator("details.cite-card mark.cite-quote")
    assert cards.count() >= 3 and all(cards.nth(i).text_content() in text for i in range(cards.count()))
    page.screenshot(path=str(artifacts_dir / "export_answer.png"), full_page=True)
