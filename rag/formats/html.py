"""HTML pages -> the article text, without the site's navigation, link lists and footer.

The article is found by text and link density, not by any site's markup names: every block of running text
(few of its characters inside links) scores its length for the element that holds it and half for that
element's parent; the best-scoring element is the article. Its headings and the page title are kept. A page
with no such block (a bare list, a fragment) keeps all its text except link lists.
"""

from __future__ import annotations

import re

from ..tables import table_text

_DROP = ["script", "style", "noscript", "template", "iframe", "svg", "form", "button", "select", "input"]
_BLOCKS = ["p", "div", "li", "td", "section", "article", "dd", "pre", "blockquote"]
# A block is running text when it has at least this many word characters and at most this share inside links.
MIN_TEXT_CHARS = 25
MAX_LINK_DENSITY = 0.3
_HEADS = ["h1", "h2", "h3"]
CONTENDER_SHARE = 0.3  # blocks with this share of the longest block's running text may be the article
TITLE_MATCH = 0.6  # a block whose heading's bigrams the page title holds at least this share of is the one named
_WORD = re.compile(r"[\w\u4e00-\u9fff]")


def _chars(text: str) -> int:
    return len(_WORD.findall(text))


def _link_chars(el) -> int:
    return sum(_chars(a.get_text()) for a in el.find_all("a"))


def _own_text(el) -> str:
    """Text of an element outside its nested blocks (a div's own paragraphs are counted at the paragraphs)."""
    return "".join(s for s in el.find_all(string=True, recursive=False))


def _scores(soup) -> dict[int, tuple[object, float]]:
    """Running-text characters held by each element: a paragraph's for its parent, text written straight into a
    div or cell for that element."""
    scores: dict[int, tuple[object, float]] = {}
    for el in soup.find_all(_BLOCKS):
        text = el.get_text() if el.name == "p" else _own_text(el)
        n = _chars(text)
        if n < MIN_TEXT_CHARS:
            continue
        links = sum(_chars(a.get_text()) for a in el.find_all("a", recursive=el.name == "p"))
        if links > MAX_LINK_DENSITY * n:
            continue
        holder = el.parent if el.name == "p" else el
        if holder is None or holder.name in (None, "[document]"):
            continue
        scores[id(holder)] = (holder, scores.get(id(holder), (holder, 0.0))[1] + n)
    return scores


def _heading(el) -> str:
    h = el.find(_HEADS) or el.find_previous(_HEADS)
    return h.get_text("", strip=True) if h is not None else ""


def _title_match(heading: str, title: str) -> float:
    """Share of the heading's character bigrams that the page title holds."""
    grams = {heading[i: i + 2] for i in range(len(heading) - 1)}
    return sum(g in title for g in grams) / len(grams) if grams else 0.0


def article_element(soup, title: str = ""):
    """The element that holds the page's article, or None. Several blocks of running text: the one whose heading
    the page title names, else the longest; blocks beside it without headings of their own are the same
    article (a long text split into boxes) and are taken with it."""
    scores = _scores(soup)
    if not scores:
        return None
    best_score = max(score for _, score in scores.values())
    contenders = [(el, score) for el, score in scores.values() if score >= CONTENDER_SHARE * best_score]
    named = [(_title_match(_heading(el), title), score, el) for el, score in contenders] if title else []
    named = [c for c in named if c[0] >= TITLE_MATCH]
    root = max(named, key=lambda c: c[:2])[2] if named else max(contenders, key=lambda c: c[1])[0]
    while root.parent is not None and root.parent.name not in (None, "[document]", "body", "html"):
        siblings = [c for c in root.parent.find_all(True, recursive=False) if id(c) in scores and c is not root]
        if not siblings or any(c.find(_HEADS) for c in [root, *siblings]):
            break
        root = root.parent
    return root


def _drop_link_lists(root) -> None:
    """Remove blocks that are mostly links (menus, 'related news' lists) from a fallback page."""
    for el in root.find_all(["ul", "ol", "nav", "div", "table", "p"]):
        if el.decomposed:
            continue
        n = _chars(el.get_text())
        if n and _link_chars(el) > 0.5 * n:
            el.decompose()


def _tables_as_rows(root) -> None:
    """Data tables (two rows and two columns or more, no table inside) become pipe rows (rag/tables.py)."""
    from bs4 import NavigableString

    for table in root.find_all("table"):
        if table.decomposed or table.find("table"):
            continue
        rows = [[c.get_text(" ", strip=True) for c in tr.find_all(["td", "th"])] for tr in table.find_all("tr")]
        rows = [r for r in rows if any(r)]
        if len(rows) >= 2 and max(map(len, rows)) >= 2:
            table.replace_with(NavigableString("\n" + table_text(rows) + "\n"))


def html_text(data: bytes) -> str:
    """The page title and its article as text; headings become Markdown headings."""
    from bs4 import BeautifulSoup

    from ..loaders import decode_bytes

    raw, _ = decode_bytes(data)
    soup = BeautifulSoup(raw, "html.parser")
    for tag in soup(_DROP):
        tag.decompose()
    title = soup.title.get_text(strip=True) if soup.title else ""
    if soup.title:
        soup.title.decompose()
    headline = ""
    root = article_element(soup, title)
    if root is not None:
        # the headline usually sits above the article's box: the last h1/h2 before it
        h = root.find_previous(["h1", "h2"])
        if h is not None and not root.find(["h1", "h2"]):
            headline = h.get_text(" ", strip=True)
        named = _heading(root)
        if named and len(named) >= 4 and named in title:
            title = named  # '<headline>-<site name>': the document's title is the headline
    else:
        root = soup.body or soup
        _drop_link_lists(root)
    _tables_as_rows(root)
    for level in range(1, 7):
        for h in root.find_all(f"h{level}"):
            h.insert_before("\n" + "#" * level + " ")
            h.insert_after("\n")
    for tag in root.find_all(["p", "div", "li", "br", "tr", "section", "article"]):
        tag.insert_after("\n")
    body = root.get_text()
    text = re.sub(r"\n[ \t\u3000]*\n(?:[ \t\u3000]*\n)+", "\n\n", body).strip()
    if headline and headline not in text[:200]:
        text = f"# {headline}\n\n{text}"
    return f"{title}\n\n{text}" if title and title not in text[:200] else text
