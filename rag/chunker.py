"""Section-aware chunker for Chinese policy documents and news pages.

Recognised headings, outermost first: 第X章 > 第X节 > 第X条, 一、 > （一） > 1. > （1） > ①, and the short
un-punctuated heading lines of news articles ("政策赋能", "龙头引领"). Each chunk carries its section path, its
text and its span in the source. Long sections split at sentence ends under `max_chars`; tiny pieces merge with a
neighbour under the same parent; nothing crosses a document boundary.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .textnorm import Normalized, clause_spans, normalize, normalize_span, sentence_spans
from .types import Chunk, Document, Section, content_id

CHUNKER_VERSION = 6
# Unstructured documents up to this many times max_chars stay in one chunk.
SHORT_DOC_FACTOR = 3

_CN_NUM = "一二三四五六七八九十百零〇"
# (level, pattern). Levels leave room so 章/节/条 and 一、/（一） can coexist in one document.
HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^第[{_CN_NUM}\d]+章")),
    (2, re.compile(rf"^第[{_CN_NUM}\d]+节")),
    (4, re.compile(rf"^[{_CN_NUM}]+[、．.]")),
    (5, re.compile(rf"^[（(][{_CN_NUM}]+[）)]")),
    (6, re.compile(r"^\d{1,2}[.．、](?!\d)")),
    (7, re.compile(r"^[（(]\d{1,2}[）)]")),
    (8, re.compile(r"^[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]")),
    (9, re.compile(rf"^第[{_CN_NUM}\d]+条")),
]
NEWS_HEADING_LEVEL = 3
ARTICLE_LEVEL = 9
_BYLINE = re.compile(r"^(记者|通讯员|文[：:/]|图[：:/]|文/图|编辑|责任编辑|来源[：:]|本报讯|发布时间|摄影)")
_HEADING_PUNCT = re.compile(r"[。！？!?；;，,：:、]")
MAX_NEWS_HEADING = 40


@dataclass(frozen=True)
class ChunkerSettings:
    """Chunk size limits in characters of normalised text."""

    max_chars: int = 300
    min_chars: int = 80

    def fingerprint(self) -> dict:
        return {"max_chars": self.max_chars, "min_chars": self.min_chars, "version": CHUNKER_VERSION}


@dataclass
class _Segment:
    path: tuple[str, ...]
    start: int  # normalised offsets
    end: int
    body_chars: int
    level: int


def heading_of(line: str) -> tuple[int, str] | None:
    """(level, heading title) if the line opens a section, else None."""
    for level, pat in HEADING_PATTERNS:
        m = pat.match(line)
        if m:
            # An article's text is its body: the article number alone names the section.
            return level, (m.group(0) if level == ARTICLE_LEVEL else _heading_title(line))
    if (
        len(line) <= MAX_NEWS_HEADING
        and not _HEADING_PUNCT.search(line)
        and not _BYLINE.match(line)
        and len(re.findall(r"[\u4e00-\u9fff]", line)) >= 3
    ):
        return NEWS_HEADING_LEVEL, line
    return None


def _heading_title(line: str) -> str:
    """The heading part of a line such as '（一）航空港区…园区。选址位于…' -> '（一）航空港区…园区'."""
    m = re.search(r"[。：:；;！!？?]", line)
    title = line[: m.start()] if m else line
    if len(title) > 40:
        cut = re.search(r"[，,]", title)
        title = title[: cut.start()] if cut and cut.start() <= 40 else title[:40] + "…"
    return title.strip()


def _is_structured(lines: list[str]) -> bool:
    """A document with numbered headings (一、/（一）/第X章…) uses them; its short lines are titles, not sections."""
    numbered = 0
    for line in lines:
        head = heading_of(line.strip())
        if head and head[0] != NEWS_HEADING_LEVEL:
            numbered += 1
    return numbered >= 2


def _segments(text: str) -> list[_Segment]:
    segments: list[_Segment] = []
    structured = _is_structured(text.split("\n"))
    stack: list[tuple[int, str]] = []
    pos = 0
    current: _Segment | None = None
    prev_was_news_heading = False
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        stripped = line.strip()
        if not stripped:
            continue
        head = heading_of(stripped)
        if head and head[0] == NEWS_HEADING_LEVEL and structured:
            head = None
        if head and head[0] == NEWS_HEADING_LEVEL and prev_was_news_heading and current is not None:
            # Two short lines in a row are one heading split over lines ("政策赋能" / "打造百亿级产业集群").
            level, title = stack[-1]
            stack[-1] = (level, f"{title} {stripped}")
            current.path = tuple(t for _, t in stack)
            current.end = end
            continue
        if head:
            level, title = head
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, title))
            inline_body = len(stripped) - len(title)
            current = _Segment(tuple(t for _, t in stack), start, end, max(0, inline_body), level)
            segments.append(current)
            prev_was_news_heading = level == NEWS_HEADING_LEVEL and inline_body == 0
            continue
        prev_was_news_heading = False
        if current is None:
            current = _Segment((), start, end, 0, 0)
            segments.append(current)
        current.end = end
        current.body_chars += len(stripped)
    return segments


def _split_long(text: str, start: int, end: int, max_chars: int) -> list[tuple[int, int]]:
    """Split [start, end) at sentence ends (then clause ends) into pieces of at most max_chars."""
    units: list[tuple[int, int]] = []
    for a, b in sentence_spans(text, start, end):
        if b - a <= max_chars:
            units.append((a, b))
            continue
        for ca, cb in clause_spans(text, a, b):
            while cb - ca > max_chars:
                units.append((ca, ca + max_chars))
                ca += max_chars
            units.append((ca, cb))
    pieces: list[tuple[int, int]] = []
    for a, b in units:
        if pieces and b - pieces[-1][0] <= max_chars:
            pieces[-1] = (pieces[-1][0], b)
        else:
            pieces.append((a, b))
    return pieces


def _path_str(path: tuple[str, ...]) -> str:
    return " > ".join(path)


def _merged_path(parts: list[tuple[tuple[str, ...], int]]) -> tuple[str, ...]:
    """Section path of merged pieces: the deepest when one contains the others, else the biggest piece's."""
    with_body = [p for p in parts if p[1] > 0] or parts
    paths = [p for p, _ in with_body]
    deepest = max(paths, key=len)
    if all(deepest[: len(p)] == p for p in paths):
        return deepest
    return max(with_body, key=lambda p: p[1])[0]


def _parent(path: tuple[str, ...]) -> tuple[str, ...]:
    return path[:-1]


def chunk_document(doc: Document, settings: ChunkerSettings | None = None) -> tuple[list[Chunk], list[Section]]:
    """Cut a document into chunks; also return its sections (path and source span) for citations and the UI."""
    settings = settings or ChunkerSettings()
    raw = doc.source_text
    base = doc.body_start
    norm = normalize(raw[base:])
    text = norm.text
    segs = _segments(text)

    def src(a: int, b: int) -> tuple[int, int]:
        s, e = norm.source_span(a, b)
        return s + base, e + base

    sections = [Section(_path_str(s.path), *src(s.start, s.end), level=s.level) for s in segs if s.path]

    # Pieces: (path, start, end, body_chars)
    pieces: list[list] = []
    body = text.strip()
    if segs and len(body) <= settings.max_chars * SHORT_DOC_FACTOR and not _is_structured(text.split("\n")):
        # A short text without numbered structure (a notice, a news brief, a passage) is one unit of meaning:
        # cutting it would separate a question's keywords from the answer one sentence later.
        segs_parts = [(s.path, s.body_chars) for s in segs]
        pieces.append([segs_parts, segs[0].start, segs[-1].end])
        segs = []
    for s in segs:
        if s.end - s.start <= settings.max_chars:
            pieces.append([[(s.path, s.body_chars)], s.start, s.end])
            continue
        for a, b in _split_long(text, s.start, s.end, settings.max_chars):
            pieces.append([[(s.path, b - a)], a, b])

    merged = _merge_small(pieces, settings)

    chunks: list[Chunk] = []
    for parts, a, b in merged:
        s, e = src(a, b)
        chunk_text = normalize_span(raw, s, e).text.strip()
        if not chunk_text:
            continue
        path = _path_str(_merged_path(parts))
        chunks.append(
            Chunk(
                chunk_id=content_id(doc.doc_id, path, chunk_text, str(s)),
                doc_id=doc.doc_id,
                section_path=path,
                text=chunk_text,
                start=s,
                end=e,
                title=doc.title,
            )
        )
    return chunks, sections


def _merge_small(pieces: list[list], settings: ChunkerSettings) -> list[list]:
    """Merge tiny pieces: a heading or short intro goes forward into its first child; a tiny leaf joins a sibling."""

    def small(p: list) -> bool:
        return (p[2] - p[1]) < settings.min_chars or all(n == 0 for _, n in p[0])

    forward: list[list] = []
    carry: list | None = None
    for piece in pieces:
        if carry is not None:
            head_path = carry[0][-1][0]
            if piece[0][0][0][: len(head_path)] == head_path and piece[2] - carry[1] <= settings.max_chars:
                piece = [carry[0] + piece[0], carry[1], piece[2]]
            else:
                forward.append(carry)
            carry = None
        if small(piece):
            carry = piece
        else:
            forward.append(piece)
    if carry is not None:
        forward.append(carry)

    merged: list[list] = []
    for piece in forward:
        if merged:
            prev = merged[-1]
            fits = piece[2] - prev[1] <= settings.max_chars
            if fits and (small(prev) or small(piece)) and _related(prev[0][-1][0], piece[0][0][0]):
                merged[-1] = [prev[0] + piece[0], prev[1], piece[2]]
                continue
        merged.append(piece)
    return merged


def _related(prev: tuple[str, ...], nxt: tuple[str, ...]) -> bool:
    """Merge only within one family: the next piece is a descendant of the previous, or they share a parent."""
    if nxt[: len(prev)] == prev:
        return True
    return _parent(prev) == _parent(nxt) or nxt[: len(_parent(prev))] == _parent(prev) and len(prev) <= 1


def section_at(sections: list[Section], offset: int) -> str:
    """The deepest section path whose span contains a source offset ('' before the first heading)."""
    best = ""
    best_level = -1
    for sec in sections:
        if sec.start <= offset < sec.end and sec.level >= best_level:
            best, best_level = sec.path, sec.level
    return best


def normalized_body(doc: Document) -> Normalized:
    """The normalised body of a document with offsets into its source text (front matter skipped)."""
    norm = normalize(doc.source_text[doc.body_start :])
    return Normalized(norm.text, [o + doc.body_start for o in norm.offsets])
