"""HTML pages: the article is kept, the site's menus, link lists, unrelated news and footer are not (found by text
and link density, rag/formats/html.py). The test page wraps the Zhengzhou page of the bundled corpus."""

from __future__ import annotations

from rag.chunker import chunk_document
from rag.loaders import load_document
from rag.textnorm import normalize_text

from .conftest import CORPUS
from .html_page import CHROME, news_page, zhengzhou_articles


def _page(tmp_path, main: int = 0, encoding: str = "utf-8"):
    articles = zhengzhou_articles(CORPUS)
    path = tmp_path / "news.html"
    path.write_bytes(news_page(articles[main][0], articles).encode(encoding))
    return load_document(path), articles


def test_zhengzhou_page_keeps_its_article_and_drops_the_rest(tmp_path):
    doc, articles = _page(tmp_path)
    assert len(articles) == 3  # the conference report, then two unrelated news items
    text = normalize_text(doc.source_text)
    for line in articles[0]:
        assert normalize_text(line) in text
    for other in articles[1:]:
        for line in other:
            if len(line) > 12:  # not the reporter's byline, which the kept article shares
                assert normalize_text(line) not in text, line
    for chrome in CHROME:
        assert chrome not in doc.source_text, chrome
    assert doc.title == articles[0][0]  # the headline, without the site's name after it


def test_the_page_title_names_which_article_is_kept(tmp_path):
    doc, articles = _page(tmp_path, main=1)
    assert doc.title == articles[1][0]
    assert articles[1][2][:30] in doc.source_text
    assert articles[0][2][:30] not in doc.source_text


def test_stripped_page_chunks_like_the_article_alone(tmp_path):
    doc, articles = _page(tmp_path, encoding="gb18030")
    chunks, _ = chunk_document(doc)
    joined = "".join(c.text for c in chunks)
    assert "产业生态规划" in joined and "纺机" not in joined and "首页" not in joined
    assert any(c.section_path.startswith("政策赋能") for c in chunks)  # the news sub-headings still open sections


def test_page_without_running_text_keeps_text_but_not_link_lists(tmp_path):
    path = tmp_path / "list.html"
    path.write_text("<html><head><title>通知公告</title></head><body><ul>" + "".join(
        f'<li><a href="/n{i}.html">关于第{i}批项目申报的通知</a></li>' for i in range(8)) +
        "</ul><div>办公时间：工作日上午9点至下午5点</div></body></html>", encoding="utf-8")
    doc = load_document(path)
    assert "办公时间" in doc.source_text and "项目申报" not in doc.source_text


def test_html_data_table_becomes_pipe_rows(tmp_path):
    path = tmp_path / "t.html"
    rows = "".join(f"<tr><td>{n}</td><td>{v}</td></tr>" for n, v in [("甲区", "12亿元"), ("乙区", "8亿元")])
    path.write_text("<html><head><title>各区目标</title></head><body><div><p>各区产业规模目标如下，请各区认真抓好落实，"
                    "按季度报送进展情况。</p><table><tr><th>区</th><th>目标</th></tr>" + rows +
                    "</table></div></body></html>", encoding="utf-8")
    doc = load_document(path)
    assert "| 区 | 目标 |\n| 甲区 | 12亿元 |\n| 乙区 | 8亿元 |" in doc.source_text
