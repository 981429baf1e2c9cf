"""HTML for the chat UI: answers with clickable [n] markers, citation cards, the source view, the document list.

Pure functions over our own types (no gradio import), so they are tested directly. Every string that comes from a
document, an upload, a question or a model goes through `esc` first: the pages never run or render anything a
document contains. Links carry their target in `href`/`id` (the chat sanitiser strips data-* attributes); the
page script (`webui/assets.py`) turns clicks on them into actions.
"""

from __future__ import annotations

import html
import re
from urllib.parse import quote as urlquote

from rag.articles import cross_references
from rag.render import cell_with_marks, render_answer_text
from rag.store import DocRecord
from rag.tables import row_cells, table_blocks
from rag.textnorm import normalize_span
from rag.types import Answer, AnswerTable, Citation, Hit, Section

CONTEXT_CHARS = 220  # characters of section text shown around a quote in a citation card
SOURCE_WINDOW = 120_000  # the source view shows at most this many characters each side of the clause
SECTION_TEXT_CAP = 20_000  # longest section text rendered in the Documents tab
TABLE_ROWS_AROUND = 6  # rows of a table shown each side of a cited row

# Beyond HTML's own specials, neutralise template syntax ({{ }}, ${ }) and backticks: the HTML component fills
# templates, and a document must never be able to smuggle one in.
_AFTER_HEADING = " \t\n\u3000。．.：:，,、"  # what separates an inline heading from its text
_EXTRA = str.maketrans({"{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;"})


def esc(text: object) -> str:
    """Escape any text for HTML (tags, quotes, template braces): what a document says shows as text."""
    return html.escape("" if text is None else str(text), quote=True).translate(_EXTRA)


def source_href(doc_id: str, start: int, end: int) -> str:
    """The link target the page script reads to open the source view at a span."""
    return f"#src={urlquote(doc_id, safe='')}&s={int(start)}&e={int(end)}"


# -- chat messages -----------------------------------------------------------------------------------------------
def question_html(question: str) -> str:
    """A user's question as chat content (escaped; line breaks kept by CSS)."""
    return f'<div class="q-text">{esc(question)}</div>'


def pending_html(text: str = "") -> str:
    """The assistant message while the answer streams in; before the first text, a searching notice."""
    if not text:
        return '<div class="ans ans-pending"><span class="dots">正在检索文档…</span></div>'
    return f'<div class="ans ans-streaming"><div class="ans-text">{esc(text)}<span class="cursor"></span></div></div>'


def error_html(message: str) -> str:
    """An error shown in the chat, in the user's language."""
    return f'<div class="ans ans-error">⚠️ {esc(message)}</div>'


def _markers(text_html: str, numbers: set[int], token: str) -> str:
    """Turn [n] in escaped answer text into links to citation card n (unknown numbers stay plain text)."""

    def link(m: re.Match) -> str:
        n = int(m.group(1))
        if n not in numbers:
            return m.group(0)
        return f'<a class="cite-ref" href="#cite-{token}-{n}" title="查看引用 {n}">[{n}]</a>'

    return re.sub(r"\[(\d{1,3})\]", link, text_html)


def _section_bounds(record: DocRecord, offset: int) -> tuple[int, int]:
    """Span of the deepest section containing an offset (the whole body when it precedes every heading)."""
    best: Section | None = None
    for sec in record.sections:
        if sec.start <= offset < sec.end and (best is None or sec.level >= best.level):
            best = sec
    if best is None:
        return record.doc.body_start, len(record.doc.source_text)
    return best.start, best.end


def citation_context(record: DocRecord, start: int, end: int, radius: int = CONTEXT_CHARS) -> tuple[str, str, str]:
    """(before, quote, after): normalised section text around a source span, the span itself in the middle.

    The split uses the offset map of the normalisation, so the middle part is exactly the verified quote.
    Ellipses mark where the section goes on beyond the window.
    """
    sec_start, sec_end = _section_bounds(record, start)
    # the window never cuts the quote itself: a cited run of sentences may go on past the end of its section
    a, b = min(start, max(sec_start, start - radius)), max(end, min(sec_end, end + radius))
    norm = normalize_span(record.doc.source_text, a, b)
    before, quote, after = [], [], []
    for ch, off in zip(norm.text, norm.offsets):
        (before if off < start else quote if off < end else after).append(ch)
    pre, mid, post = "".join(before).lstrip(), "".join(quote).strip(), "".join(after).rstrip()
    if a > sec_start:
        pre = "…" + pre
    if b < sec_end:
        post = post + "…"
    return pre, mid, post


def table_context_html(record: DocRecord, start: int, end: int) -> str:
    """A cited span inside a table (rag/tables.py), shown as that table: the header row, the cited rows marked,
    a few rows each side. '' when the span is not in a table."""
    text = record.doc.source_text
    block = next((b for b in table_blocks(text) if b.start <= start < b.end), None)
    if block is None:
        return ""
    rows: list[tuple[int, int]] = []
    pos = block.body_start
    for line in text[block.body_start: block.end].split("\n"):
        rows.append((pos, pos + len(line)))
        pos += len(line) + 1
    cited = [i for i, (a, b) in enumerate(rows) if a < end and start < b]
    header_cells = row_cells(text[block.start: block.body_start].split("\n")[0])
    head = "".join(f"<th>{esc(c)}</th>" for c in header_cells)
    if not cited:  # the quote is the header row itself
        lo, hi = 0, min(len(rows), 2 * TABLE_ROWS_AROUND)
    else:
        lo, hi = max(0, cited[0] - TABLE_ROWS_AROUND), min(len(rows), cited[-1] + 1 + TABLE_ROWS_AROUND)
    body = []
    for i in range(lo, hi):
        a, b = rows[i]
        mark = i in cited
        cells = "".join(f'<td><mark class="cite-quote">{esc(c)}</mark></td>' if mark else f"<td>{esc(c)}</td>"
                        for c in row_cells(text[a:b]))
        body.append(f'<tr class="cite-row"><td class="muted">▶</td>{cells}</tr>' if mark
                    else f'<tr><td></td>{cells}</tr>')
    more_before = '<div class="muted">……</div>' if lo > 0 else ""
    more_after = '<div class="muted">……</div>' if hi < len(rows) else ""
    return (f'<div class="cite-table">{more_before}<table class="cite-tbl"><thead><tr><th></th>{head}</tr></thead>'
            f'<tbody>{"".join(body)}</tbody></table>{more_after}</div>')


def citation_card_html(c: Citation, record: DocRecord | None, token: str) -> str:
    """A collapsible card: [n] 《title》 section path; inside, the quote highlighted in its section text (a quoted
    table row inside its table)."""
    section = f'<span class="cite-sec">{esc(c.section)}</span>' if c.section else ""
    table = table_context_html(record, c.start, c.end) if record is not None else ""
    ocr = ' · <span class="ocr-flag" title="这段文字由 OCR 从扫描件识别，已与保存的识别文本核对">OCR 识别文本</span>' if c.ocr else ""
    if record is not None:
        pre, mid, post = citation_context(record, c.start, c.end)
        mid = mid or c.quote
    else:  # the document was removed since the answer: the verified quote is all we have
        pre, mid, post = "", c.quote, ""
    view = (f'<a class="view-src" href="{esc(source_href(c.doc, c.start, c.end))}">查看原文 ›</a>'
            if record is not None else '<span class="muted">（文档已删除）</span>')
    return (
        f'<details class="cite-card" id="cite-{token}-{c.n}">'
        f'<summary><span class="cite-n">[{c.n}]</span><span class="cite-title">《{esc(c.title)}》</span>{section}</summary>'
        f'<div class="cite-body">'
        + (table or f'<div class="cite-context">{esc(pre)}<mark class="cite-quote">{esc(mid)}</mark>{esc(post)}</div>')
        + f'<div class="cite-meta"><span>{esc(c.doc)} · 第 {c.start}–{c.end} 字{ocr}</span>{view}</div></div></details>'
    )


def related_html(hits: list[Hit], docs: dict[str, DocRecord], limit: int = 3) -> str:
    """For a refusal: the closest passages, labelled 可能相关, each with its section and a link to the source."""
    items = []
    for h in hits[:limit]:
        ch = h.chunk
        text = ch.text
        heading = ch.section_path.split(" > ")[-1] if ch.section_path else ""
        if heading and text.startswith(heading):  # chunks repeat their heading line; the header shows it already
            text = text[len(heading):].lstrip(_AFTER_HEADING)
        snippet = text if len(text) <= 120 else text[:120] + "…"
        sec = f'<span class="cite-sec">{esc(ch.section_path)}</span>' if ch.section_path else ""
        link = (f'<a class="view-src" href="{esc(source_href(ch.doc_id, ch.start, ch.end))}">查看原文 ›</a>'
                if ch.doc_id in docs else "")
        items.append(
            f'<li><div class="rel-head"><span class="cite-title">《{esc(ch.title)}》</span>{sec}</div>'
            f'<div class="rel-text">{esc(snippet)}</div><div class="cite-meta">{link}</div></li>'
        )
    if not items:
        return ""
    return f'<div class="related"><div class="related-label">可能相关</div><ul>{"".join(items)}</ul></div>'


def answer_table_html(table: AnswerTable, numbers: set[int], token: str) -> str:
    """A comparison answer: the ranking a superlative asks for, then the table, each cell's [n] linked to its card."""
    head = "".join(f"<th>{esc(c)}</th>" for c in table.columns)
    rows = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            cls = ' class="cell-none"' if not cell.citations else ""
            cells.append(f"<td{cls}>{_markers(esc(cell_with_marks(cell)), numbers, token)}</td>")
        rows.append(f'<tr><th class="row-label" title="{esc(row.doc)}">{esc(row.label)}</th>{"".join(cells)}</tr>')
    summary = f'<div class="ans-text">{_markers(esc(table.summary), numbers, token)}</div>' if table.summary else ""
    return (f'{summary}<table class="ans-table"><thead><tr><th>{esc(table.corner)}</th>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table>')


def answer_html(answer: Answer, docs: dict[str, DocRecord], token: str) -> str:
    """The final assistant message: answer text (a comparison as a table) with linked [n], notices, citation
    cards, copy link and timing."""
    numbers = {c.n for c in answer.citations}
    parts = [f'<div class="ans{" ans-refused" if answer.refused and answer.table is None else ""}">']
    if answer.table is not None:
        parts.append(answer_table_html(answer.table, numbers, token))
    else:
        parts.append(f'<div class="ans-text">{_markers(esc(answer.text), numbers, token)}</div>')
    notes = []
    if answer.rewritten_question and answer.rewritten_question != answer.question:
        notes.append(f"已理解为：{answer.rewritten_question}")
    if answer.notice:
        notes.append(answer.notice)
    if notes:
        parts.append(f'<div class="ans-notice">{"；".join(esc(n) for n in notes)}</div>')
    if answer.citations:
        cards = "".join(citation_card_html(c, docs.get(c.doc), token) for c in answer.citations)
        parts.append(f'<div class="cite-list"><div class="cite-label">来源</div>{cards}</div>')
    elif answer.refused:
        parts.append(related_html(answer.hits, docs))
    total = answer.timings_ms.get("total")
    meta = [f"用时 {total / 1000:.1f} 秒" if total >= 1000 else f"用时 {total / 1000:.2f} 秒"] if total is not None else []
    if answer.backend and answer.backend != "extractive":
        meta.append(f"回答：{answer.backend}")
    parts.append(
        f'<div class="ans-tools"><a class="copy-ans" href="#plain-{token}">📋 复制答案和来源</a>'
        f'<span class="muted">{esc(" · ".join(meta))}</span></div>'
        f'<pre class="plain-text" id="plain-{token}" hidden>{esc(render_answer_text(answer))}</pre>'
    )
    parts.append("</div>")
    return "".join(parts)


# -- source view and documents -----------------------------------------------------------------------------------
def _doc_meta(record: DocRecord) -> str:
    d = record.doc
    bits = [d.doc_id]
    if d.region:
        bits.append(d.region)
    if d.date:
        bits.append(d.date)
    bits.append(f"{record.chunk_count} 个片段")
    return " · ".join(bits)


def source_html(record: DocRecord, start: int, end: int) -> str:
    """The whole source text of a document with the span [start, end) highlighted (the page scrolls to it); a
    reference to another article of the same document ('依照本条例第十二条') links to that article."""
    text = record.doc.source_text
    start = max(0, min(int(start), len(text)))
    end = max(start, min(int(end), len(text)))
    a, b = max(0, start - SOURCE_WINDOW), min(len(text), end + SOURCE_WINDOW)
    head = '<div class="muted">……（前文较长，已省略）</div>' if a > 0 else ""
    tail = '<div class="muted">……（后文较长，已省略）</div>' if b < len(text) else ""
    refs = cross_references(record)
    return (
        f'<div class="src-view"><div class="src-head"><div class="src-title">{esc(record.doc.title)}</div>'
        f'<div class="muted">{esc(_doc_meta(record))} · 高亮处为引用的第 {start}–{end} 字</div></div>{head}'
        f'<pre class="src-text">{_linked(record, a, start, refs)}<mark class="src-mark" id="src-mark">'
        f"{_linked(record, start, end, refs)}</mark>{_linked(record, end, b, refs)}</pre>{tail}</div>"
    )


def _linked(record: DocRecord, lo: int, hi: int, refs: list[tuple[int, int, int, int]]) -> str:
    """Source text [lo, hi) escaped, each cross-reference inside it a link that opens the article it names."""
    text = record.doc.source_text
    out, pos = [], lo
    for s, e, ts, te in refs:
        if s < pos or e > hi:
            continue
        out.append(esc(text[pos:s]))
        out.append(f'<a class="view-src xref" href="{esc(source_href(record.doc.doc_id, ts, te))}" '
                   f'title="查看所引条文">{esc(text[s:e])}</a>')
        pos = e
    out.append(esc(text[pos:hi]))
    return "".join(out)


def source_placeholder_html(message: str = "点击答案中的 [1]、[2] 或“查看原文”，在这里查看引用所在的原文。") -> str:
    """The source view before anything is opened (or when a document is gone)."""
    return f'<div class="src-view src-empty muted">{esc(message)}</div>'


def documents_table_html(records: list[DocRecord]) -> str:
    """Every indexed document: title, file, region, dates, 文号 and issuing bodies, status and version chain."""
    if not records:
        return '<div class="muted">索引中还没有文档。</div>'
    from rag.versions import doc_rows

    rows = []
    for r in doc_rows({rec.doc.doc_id: rec for rec in records}):
        official = " · ".join(x for x in (r["doc_number"], "、".join(r["issuers"][:3])) if x)
        chain = ""
        if len(r["versions"]) > 1:
            chain = '<div class="muted doc-versions">版本：' + " → ".join(
                f'{"<b>" if v["doc"] == r["doc"] else ""}{esc(v["date"] or v["doc"])}{"</b>" if v["doc"] == r["doc"] else ""}'
                for v in r["versions"]) + "</div>"
        dates = "<br>".join(esc(f"{label} {r[k]}") for k, label in
                            (("published", "发布"), ("written", "成文"), ("effective", "施行"), ("valid_until", "有效期至"))
                            if r[k]) or esc(r["date"] or "—")
        rows.append(
            f'<tr><td><div class="doc-title">{esc(r["title"])}</div><div class="mono">{esc(r["doc"])}</div>'
            f'{f"<div class=muted>{esc(official)}</div>" if official else ""}{chain}</td>'
            f'<td class="nowrap">{esc(r["region"] or "—")}</td><td class="nowrap">{dates}</td>'
            f'<td class="nowrap doc-status">{esc(r["status"])}</td><td class="num">{r["chunks"]}</td></tr>'
        )
    total = sum(r.chunk_count for r in records)
    return (
        '<table class="doc-table"><thead><tr><th>标题 / 文件 / 文号</th><th>地区</th><th>日期</th><th>状态</th>'
        '<th class="num">片段</th></tr>'
        f'</thead><tbody>{"".join(rows)}</tbody></table>'
        f'<div class="muted">共 {len(records)} 篇文档，{total} 个片段。</div>'
    )


def version_chain_html(row: dict | None) -> str:
    """A document's official facts and its version chain (oldest first; the shown one in bold), for its page."""
    if not row:
        return ""
    facts = [f"{label}：{row[k]}" for k, label in (("doc_number", "文号"), ("published", "发布"), ("written", "成文"),
                                                  ("effective", "施行"), ("valid_until", "有效期至")) if row.get(k)]
    if row.get("valid_until_text"):
        facts.append(f"有效期至：{row['valid_until_text']}")
    if row.get("issuers"):
        facts.append("发文机关：" + "、".join(row["issuers"]))
    if row.get("repeals"):
        facts.append("同时废止：" + "、".join(f"《{t}》" for t in row["repeals"]))
    facts.append(f"状态：{row['status']}")
    out = f'<div class="muted doc-facts">{esc("　".join(facts))}</div>'
    if len(row["versions"]) > 1:
        steps = " → ".join(
            ("<b>" if v["doc"] == row["doc"] else "") + esc(f'{v["doc"]}（{v["date"] or "日期不详"}）')
            + ("</b>" if v["doc"] == row["doc"] else "") for v in row["versions"])
        out += f'<div class="doc-versions">版本链：{steps}</div>'
    return out


def _section_text(record: DocRecord, a: int, b: int) -> str:
    text = normalize_span(record.doc.source_text, a, b).text.strip()
    return text if len(text) <= SECTION_TEXT_CAP else text[:SECTION_TEXT_CAP] + "…（已截断）"


def section_tree_html(record: DocRecord, row: dict | None = None) -> str:
    """The document's section tree: each heading opens to show its own text, with its subsections nested inside;
    `row` (rag.versions.doc_rows) adds its official facts and version chain."""
    secs = sorted(record.sections, key=lambda s: (s.start, s.level))
    out = [f'<div class="sec-tree"><div class="src-title">{esc(record.doc.title)}</div>'
           f'<div class="muted">{esc(_doc_meta(record))}</div>{version_chain_html(row)}']
    first = secs[0].start if secs else len(record.doc.source_text)
    intro = _section_text(record, record.doc.body_start, first)
    if intro:
        out.append(f'<details class="sec"><summary>（正文开头）</summary><div class="sec-text">{esc(intro)}</div></details>')
    stack: list[Section] = []
    for i, sec in enumerate(secs):
        # nest by path (a section's span is its own text; its subsections follow it)
        while stack and not sec.path.startswith(stack[-1].path + " > "):
            stack.pop()
            out.append("</details>")
        nxt = secs[i + 1].start if i + 1 < len(secs) else sec.end
        own = _section_text(record, sec.start, min(sec.end, nxt) if nxt > sec.start else sec.end)
        name = sec.path.split(" > ")[-1]
        if own.startswith(name):  # the span starts at the heading line, which the summary already shows
            own = own[len(name):].lstrip(_AFTER_HEADING)
        body = f'<div class="sec-text">{esc(own)}</div>' if own else ""
        out.append(f'<details class="sec" title="{esc(sec.path)}"><summary>{esc(name)}</summary>{body}')
        stack.append(sec)
    out.extend("</details>" for _ in stack)
    if not secs and not intro:
        out.append('<div class="muted">（没有识别出章节）</div>')
    out.append("</div>")
    return "".join(out)


# -- targets -----------------------------------------------------------------------------------------------------
def _heading_name(path: str) -> str:
    """The innermost heading of a section path, up to its first sentence mark ('（一）甲园区。选址位于…' ->
    '（一）甲园区'; a heading that runs on is cut at 24 characters); '—' for none."""
    last = path.split(" > ")[-1].strip()
    name = re.split(r"[。；;，,：:]", last, maxsplit=1)[0].strip() or last
    return (name[:24] + "…" if len(name) > 24 else name) or "—"


def targets_table_html(targets: list, records: dict[str, DocRecord]) -> str:
    """The targets view: one row per target (place, section, year, measure, value, clause); the section cell shows
    the innermost heading (the full path on hover: a plan that sets targets per park names the park there); the
    clause opens the source view at its span."""
    if not targets:
        return '<div class="muted">没有符合条件的量化目标。</div>'
    rows = []
    for t in targets:
        value = f"{t.value:g}" if isinstance(t.value, float) else str(t.value)
        title = records[t.doc].doc.title if t.doc in records else t.doc
        link = esc(source_href(t.doc, t.start, t.end))
        rows.append(
            f'<tr class="target-row"><td class="nowrap">{esc(t.place or "—")}</td>'
            f'<td class="target-sec" title="{esc(t.section)}">{esc(_heading_name(t.section))}</td>'
            f'<td class="nowrap target-year">{esc(t.year or "—")}</td><td class="target-measure">{esc(t.measure)}</td>'
            f'<td class="nowrap">{esc(t.comparator)}{esc(value)}{esc(t.unit)}</td>'
            f'<td><a class="view-src target-link" href="{link}" title="{esc(title)}">{esc(t.quote)}</a></td></tr>'
        )
    return (
        '<table class="doc-table targets-table"><thead><tr><th>地区</th><th>章节</th><th>年份</th><th>指标</th>'
        f'<th>目标值</th><th>原文（点击查看出处）</th></tr></thead><tbody>{"".join(rows)}</tbody></table>'
        f'<div class="muted">共 {len(targets)} 条。</div>'
    )
