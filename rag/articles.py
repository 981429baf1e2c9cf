"""Articles by number: the structural lookup of '《X条例》第三十三条' (and its 款 and 项) in an indexed document, and the
cross-references ('依照本条例第十二条', '本法第三十九条和第四十条') inside a document's text.

An article is a section of its document (the chunker makes every 第X条 of a document numbered by article a section
at ARTICLE_LEVEL). Its paragraphs are its 款; the numbered lines '（一）…' after a paragraph are that paragraph's 项.
The answer quotes the article (or the 款/项) verbatim from the source, so its citation verifies like any other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

from .chunker import ARTICLE_LEVEL
from .query.articles import ArticleQuery, ArticleRef, cn_number, cn_numeral
from .store import DocRecord
from .textnorm import book_title, normalize_span
from .types import Answer, Chunk, Citation, Hit
from .verify import quote_at

MAX_DOCS = 3  # a name several documents share ('大气污染防治条例'): each one's article, up to this many
MAX_REFS = 3
_ARTICLE_NAME = re.compile(r"^第([零〇一二两三四五六七八九十百千0-9]+)条$")
_ITEM = re.compile(r"^[（(]([一二三四五六七八九十]+)[）)]")
# '本条例第十二条', '本法第三十九条和第四十条第一项': a reference to an article of the same document, and the articles
# listed after it.
_SELF_REF = re.compile(r"本(?:法|条例|规定|办法|细则|规则|决定)(?=第)")
_NEXT_REF = re.compile(r"第(?P<n>[零〇一二两三四五六七八九十百千0-9]+)条(?:第[零〇一二两三四五六七八九十]+[款项])*"
                       r"(?P<conj>[、和或至及与]|或者|以及)?")


@dataclass
class Paragraph:
    """One 款 of an article: its source span and the source spans of its 项."""

    start: int
    end: int
    items: list[tuple[int, int]] = field(default_factory=list)


def article_number(section_path: str) -> int | None:
    """The article number of a section path ending in '第十五条', else None."""
    m = _ARTICLE_NAME.match(section_path.rsplit(" > ", 1)[-1])
    return cn_number(m.group(1)) if m else None


@lru_cache(maxsize=512)
def _articles(doc_id: str, sha256: str, sections: tuple) -> dict:
    out = {}
    for sec in sections:
        if sec.level == ARTICLE_LEVEL:
            n = article_number(sec.path)
            if n and n not in out:  # a second 第一条 (an appendix) does not replace the article
                out[n] = sec
    return out


def articles_of(record: DocRecord) -> dict:
    """Article number -> its Section, for a document numbered by article (empty for any other document)."""
    return _articles(record.doc.doc_id, record.doc.sha256, tuple(record.sections))


def paragraphs(record: DocRecord, section) -> list[Paragraph]:
    """The 款 of an article, each with its 项, as source spans (a line break separates paragraphs)."""
    src = record.doc.source_text
    norm = normalize_span(src, section.start, section.end)
    out: list[Paragraph] = []
    pos = 0
    for line in norm.text.split("\n"):
        a, b = pos, pos + len(line)
        pos = b + 1
        lead = len(line) - len(line.lstrip())
        line = line.strip()
        if not line:
            continue
        s, e = norm.offsets[a + lead], norm.offsets[a + lead + len(line) - 1] + 1
        if _ITEM.match(line) and out:
            out[-1].items.append((s, e))
            out[-1].end = e
        else:
            out.append(Paragraph(s, e))
    return out


def _span(record: DocRecord, section, ref: ArticleRef) -> tuple[int, int, str, str]:
    """(start, end, label, notice) of what a reference asks for: the article, or its 款, or a 项."""
    name = section.path.rsplit(" > ", 1)[-1]
    if not ref.paragraph and not ref.item:
        return section.start, section.end, name, ""
    paras = paragraphs(record, section)
    if ref.paragraph:
        if ref.paragraph > len(paras):
            return (section.start, section.end, name,
                    f"{name}只有{cn_numeral(len(paras))}款，没有第{cn_numeral(ref.paragraph)}款，以下是该条全文。")
        para = paras[ref.paragraph - 1]
        label = f"{name}第{cn_numeral(ref.paragraph)}款"
    else:
        para = next((p for p in paras if p.items), paras[0])
        label = name
    if not ref.item:
        return para.start, para.end, label, ""
    if ref.item > len(para.items):
        return para.start, para.end, label, f"{label}没有第（{cn_numeral(ref.item)}）项，以下是{label}全文。"
    s, e = para.items[ref.item - 1]
    return s, e, f"{label}第（{cn_numeral(ref.item)}）项", ""


def answer_articles(query: ArticleQuery, docs: dict[str, DocRecord], chunks: list[Chunk],
                    allowed: set[str] | None = None) -> Answer | None:
    """The named articles quoted verbatim with citations, or a Chinese message that the document has no such
    article; None when no named document is numbered by article (the question goes to retrieval instead)."""
    targets = [d for d in query.docs if d in docs and (allowed is None or d in allowed) and articles_of(docs[d])]
    if not targets:
        return None
    parts, notes, cits, hits = [], [], [], []
    for doc_id in targets[:MAX_DOCS]:
        record = docs[doc_id]
        arts = articles_of(record)
        title = record.doc.title
        shown = book_title(title)
        own = [c for c in chunks if c.doc_id == doc_id]
        for ref in query.refs[:MAX_REFS]:
            section = arts.get(ref.article)
            if section is None:
                last = max(arts)
                notes.append(f"{shown}中没有第{cn_numeral(ref.article)}条（该文件共{len(arts)}条，最后一条是第"
                             f"{cn_numeral(last)}条）。")
                continue
            s, e, label, notice = _span(record, section, ref)
            quote = quote_at(record.doc.source_text, s, e)
            if not quote:
                continue
            holder = next((c for c in own if c.start <= s < c.end), None)
            n = len(cits) + 1
            name = section.path.rsplit(" > ", 1)[-1]
            extra = label[len(name):]  # '第二款', '第二款第（一）项'
            path = f"{section.path} > {extra}" if extra else section.path
            cits.append(Citation(n=n, doc=doc_id, title=title, section=path, quote=quote, start=s, end=e,
                                 chunk_id=holder.chunk_id if holder else ""))
            body = quote
            if body.startswith(name):
                body = body[len(name):].lstrip(" \u3000：:")
            if notice:
                notes.append(notice)
            parts.append(f"{shown}{label}规定：\n{body}[{n}]")
            for c in own:
                shown_ids = {h.chunk.chunk_id for h in hits}
                if c.start < section.end and c.end > section.start and c.chunk_id not in shown_ids:
                    hits.append(Hit(chunk=c, score=1.0, scores={"article": 1.0}, rank=len(hits) + 1))
    if not cits:
        return Answer(text="".join(notes), refused=True, backend="article")
    notice = " ".join(notes)
    if len(targets) > MAX_DOCS or len(targets) > 1:
        notice = " ".join(x for x in (f"“{query.name}”对应{len(targets)}份文件。", notice) if x)
    return Answer(text="\n\n".join(parts), citations=cits, hits=hits, notice=notice, backend="article")


def cross_references(record: DocRecord) -> list[tuple[int, int, int, int]]:
    """(start, end) of every reference in the source text to an article of the same document ('本条例第十二条',
    and '第四十条' in '本法第三十九条和第四十条'), with the (start, end) of the article it names."""
    arts = articles_of(record)
    if not arts:
        return []
    src = record.doc.source_text
    out = []
    for m in _SELF_REF.finditer(src):
        pos = m.end()
        first = True
        while True:
            ref = _NEXT_REF.match(src, pos)
            if not ref:
                break
            section = arts.get(cn_number(ref.group("n")) or 0)
            if section is not None:
                out.append((m.start() if first else pos, ref.end("n") + 1, section.start, section.end))
            first = False
            pos = ref.end()
            if not ref.group("conj"):  # the list of articles ends here
                break
    return out
