"""Section-aware chunker for Chinese policy documents and news pages.

Recognised headings, outermost first: 第X章 > 第X节 > 第X条, 一、 > （一） > 1. > （1） > ①, and the short
un-punctuated heading lines of news articles ("政策赋能", "龙头引领"). A flattened document (its line breaks lost,
most of it one line) is cut into lines where a heading marker follows a sentence end, a colon, a gap the source had
(spaces that normalisation drops), or the short title of the heading before it. Each chunk carries its section
path, its text and its span in the source. Long sections split at sentence ends under `max_chars`; tiny pieces
merge with a neighbour under the same parent; nothing crosses a document boundary. A table (pipe rows,
rag/tables.py) is chunked as groups of whole rows under the section path of the heading above it, each chunk
carrying the table's header row; table rows never merge with prose.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .tables import TableBlock, is_row, row_groups, table_blocks
from .textnorm import SENTENCE_END, Normalized, clause_spans, normalize, normalize_span, sentence_spans
from .types import Chunk, Document, Section, content_id

CHUNKER_VERSION = 10
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
MIN_ARTICLES = 3
_BYLINE = re.compile(r"^(记者|通讯员|文[：:/]|图[：:/]|文/图|编辑|责任编辑|来源[：:]|本报讯|发布时间|摄影)")
_HEADING_PUNCT = re.compile(r"[。！？!?；;，,：:、]")
MAX_NEWS_HEADING = 40
# Flattened text: markers that may open a section inside a line. References ("第二条规定", "第三条第二款") and number
# runs ("一、二级", "1.5万元", "1、2号线") are not headings.
_INLINE_MARKER = re.compile(
    rf"第[{_CN_NUM}\d]+[章节条](?![第款项的、和与及或至所中之规（(])"
    rf"|[{_CN_NUM}]{{1,3}}[、．.](?![{_CN_NUM}\d]+[、级类档批]|\d)"
    rf"|[（(][{_CN_NUM}]{{1,3}}[）)]|(?<![\dA-Za-z.．])\d{{1,2}}[.．、](?!\d)|[（(]\d{{1,2}}[）)]|[①②③④⑤⑥⑦⑧⑨⑩⑪⑫⑬⑭⑮⑯⑰⑱⑲⑳]"
)
_OPENS_AFTER = set("。；！？!?;：:")
_CLOSING_QUOTES = set("”’」』》）)】")
_TITLE_END = re.compile(r"[。！？!?；;，,：:]")
# A heading title in flattened text is a short phrase: a marker further away than this is not its sub-heading.
MAX_INLINE_TITLE = 30


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
    if is_row(line):
        return None  # a table row, however short, is content
    for level, pat in HEADING_PATTERNS:
        m = pat.match(line)
        if m:
            # An article's text is its body: the article number alone names the section.
            if level == ARTICLE_LEVEL:
                return level, m.group(0)
            if level <= 2:  # '第二章总则' (normalisation drops the space) -> '第二章 总则'
                rest = _heading_title(line[m.end():].strip())
                return level, f"{m.group(0)} {rest}" if rest else m.group(0)
            return level, _heading_title(line)
    if (
        len(line) <= MAX_NEWS_HEADING
        and not _HEADING_PUNCT.search(line)
        and not _BYLINE.match(line)
        and len(re.findall(r"[\u4e00-\u9fff]", line)) >= 3
    ):
        return NEWS_HEADING_LEVEL, line
    return None


def _heading_title(line: str) -> str:
    """The heading part of a line such as '（一）某某产业园区。选址位于…' -> '（一）某某产业园区'."""
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


def _is_article_doc(lines: list[str]) -> bool:
    """A document numbered by article (a law or regulation): at least MIN_ARTICLES lines open with 第X条. Its
    articles are its units: numbered items inside an article are its 项, not sections, and articles never merge."""
    return sum(1 for line in lines if HEADING_PATTERNS[-1][1].match(line.strip())) >= MIN_ARTICLES


def _line_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of every line of the text, as `text.split("\\n")` cuts it."""
    spans, pos = [], 0
    for line in text.split("\n"):
        spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


def _is_flattened(text: str, spans: list[tuple[int, int]]) -> bool:
    """Text whose line breaks were lost: no numbered heading starts a line and one line holds most of the text."""
    lines = [text[a:b].strip() for a, b in spans]
    total = sum(map(len, lines))
    return total > 0 and 2 * max(map(len, lines)) >= total and not _is_structured(lines)


def _source_gaps(norm: Normalized, source: str) -> set[int]:
    """Normalised offsets that whitespace preceded in the source (spaces between Chinese characters are dropped by
    normalisation, yet in flattened text they are what is left of the line breaks)."""
    gaps: set[int] = set()
    text, offsets = norm.text, norm.offsets
    for i in range(1, len(offsets)):
        if text[i - 1] == " " or any(ch.isspace() for ch in source[offsets[i - 1] + 1 : offsets[i]]):
            gaps.add(i)
    return gaps


def _inline_lines(text: str, start: int, end: int, gaps: set[int]) -> list[tuple[int, int]]:
    """Cut one flattened line [start, end) so that each heading opens a line and a heading title that ended at a
    gap in the source ('一、支持疫情防控物资供应 对生产…') is a line of its own."""
    cuts: list[int] = [start]
    title_from, last_level = -1, 0  # where the title of the last heading starts, and its level
    for m in _INLINE_MARKER.finditer(text, start, end):
        p = m.start()
        head = heading_of(text[p : min(end, p + 2 * MAX_INLINE_TITLE)])
        if head is None:
            continue
        q = p - 1
        while q > start and text[q] in _CLOSING_QUOTES and text[q - 1] in SENTENCE_END:
            q -= 1  # '…予以支持。”二、'
        opens = p == start or text[q] in _OPENS_AFTER or p in gaps
        # '二、加大金融支持力度（一）加大信贷投放。': a deeper marker right after a short title opens a sub-section.
        sub = (
            head[0] > last_level and title_from >= 0 and p - title_from <= MAX_INLINE_TITLE
            and not _TITLE_END.search(text, title_from, p)
        )
        if not (opens or sub):
            continue
        if p > cuts[-1]:
            cuts.append(p)
        title_from, last_level = m.end(), head[0]
        if head[0] == ARTICLE_LEVEL:
            continue  # an article is named by its number alone
        for i in range(m.end() + 2, min(end, m.end() + MAX_INLINE_TITLE + 1)):
            if _TITLE_END.match(text, i - 1) or _INLINE_MARKER.match(text, i):
                break
            if i in gaps and not _unclosed(text[m.end() : i]):  # '1.《财政部 国家税务总局关于…》' is one title
                cuts.append(i)
                break
    return list(zip(cuts, cuts[1:] + [end]))


def _unclosed(s: str) -> bool:
    """True when a book-title mark, bracket or quote opened in s is not closed in it."""
    return s.count("《") > s.count("》") or s.count("“") > s.count("”") or (
        s.count("（") + s.count("(") > s.count("）") + s.count(")")
    )


def _short_title(title: str) -> str:
    """A heading title found inside running text, kept short: up to its first comma, at most MAX_INLINE_TITLE."""
    title = title.rstrip("…")
    if len(title) <= MAX_INLINE_TITLE:
        return title
    cut = re.search(r"[，,]", title)
    if cut and cut.start() > 4:
        title = title[: cut.start()]
    return title if len(title) <= MAX_INLINE_TITLE else title[:MAX_INLINE_TITLE] + "…"


def _document_lines(text: str, norm: Normalized, source: str) -> tuple[list[tuple[int, int]], bool]:
    """The lines of the text and whether it is flattened: its own lines, or those `_inline_lines` recovers."""
    spans = _line_spans(text)
    if not _is_flattened(text, spans):
        return spans, False
    gaps = _source_gaps(norm, source)
    return [piece for a, b in spans for piece in _inline_lines(text, a, b, gaps)], True


def _segments(text: str, spans: list[tuple[int, int]] | None = None, flat: bool = False) -> list[_Segment]:
    segments: list[_Segment] = []
    spans = _line_spans(text) if spans is None else spans
    structured = _is_structured([text[a:b] for a, b in spans])
    articles = not flat and _is_article_doc([text[a:b] for a, b in spans])
    stack: list[tuple[float, str]] = []  # (nesting rank, title); the rank is the level except in flattened text
    ranks: dict[int, float] = {}
    current: _Segment | None = None
    prev_was_news_heading = False
    for start, end in spans:
        line = text[start:end]
        stripped = line.strip()
        if not stripped:
            continue
        head = heading_of(stripped)
        if head and head[0] == NEWS_HEADING_LEVEL and (structured or flat):
            head = None  # in flattened text a short line is only a piece cut at a gap, not a news heading
        if head and flat and head[0] != ARTICLE_LEVEL:
            head = (head[0], _short_title(head[1]))
        if head and articles and 2 < head[0] < ARTICLE_LEVEL and stack and stack[-1][0] == ARTICLE_LEVEL:
            head = None  # '（一）…' inside an article is one of its items (项), part of the article's text
        if head and head[0] == NEWS_HEADING_LEVEL and prev_was_news_heading and current is not None:
            # Two short lines in a row are one heading split over lines ("加大支持力度" / "助力企业纾困发展").
            level, title = stack[-1]
            stack[-1] = (level, f"{title} {stripped}")
            current.path = tuple(t for _, t in stack)
            current.end = end
            continue
        if head:
            level, title = head
            rank = _list_rank(level, text[start - 1 : start] in ("：", ":"), stack, ranks) if flat else level
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, title))
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


def _list_rank(level: int, after_colon: bool, stack: list[tuple[float, str]], ranks: dict[int, float]) -> float:
    """Nesting rank of a heading in flattened text. A marker style first met right after a colon ('应当及时采取下列措施：
    （一）…' quoted inside answer '5、…') is a list inside the open section, even where that style is usually the outer
    one; the style keeps the rank it got first."""
    if level not in ranks:
        ranks[level] = stack[-1][0] + 0.1 if after_colon and stack and level <= stack[-1][0] else level
    return ranks[level]


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
    spans, flat = _document_lines(text, norm, raw[base:])
    segs = _segments(text, spans, flat)

    def src(a: int, b: int) -> tuple[int, int]:
        s, e = norm.source_span(a, b)
        return s + base, e + base

    sections = [Section(_path_str(s.path), *src(s.start, s.end), level=s.level) for s in segs if s.path]

    # Pieces: (path, start, end, body_chars)
    pieces: list[list] = []
    body = text.strip()
    lines = [text[a:b] for a, b in spans]
    blocks = table_blocks(text)
    if segs and len(body) <= settings.max_chars * SHORT_DOC_FACTOR and not _is_structured(lines) and not blocks:
        # A short text without numbered structure (a notice, a news brief, a passage) is one unit of meaning:
        # cutting it would separate a question's keywords from the answer one sentence later.
        segs_parts = [(s.path, s.body_chars) for s in segs]
        pieces.append([segs_parts, segs[0].start, segs[-1].end])
        segs = []
    for s in segs:
        for a, b, block in _table_split(text, s, blocks):
            if block is not None:
                header = text[block.start: block.body_start].strip()
                for ga, gb in row_groups(text, block, settings.max_chars):
                    pieces.append([[(s.path, gb - ga)], ga, gb, header])
                continue
            body_chars = s.body_chars if (a, b) == (s.start, s.end) else _body_chars(text, s, a, b)
            if b - a <= settings.max_chars:
                pieces.append([[(s.path, body_chars)], a, b])
                continue
            for pa, pb in _split_long(text, a, b, settings.max_chars):
                pieces.append([[(s.path, pb - pa)], pa, pb])

    merged = _merge_runs(pieces, settings, articles=not flat and _is_article_doc(lines))

    chunks: list[Chunk] = []
    for parts, a, b, *table in merged:
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
                table_header=table[0] if table else "",
            )
        )
    return chunks, sections


def _table_split(text: str, seg: _Segment, blocks: list[TableBlock]) -> list[tuple[int, int, TableBlock | None]]:
    """A segment cut into prose and tables: (start, end, the table or None), in order, blank stretches dropped."""
    out: list[tuple[int, int, TableBlock | None]] = []
    pos = seg.start
    for block in blocks:
        if block.end <= seg.start or block.start >= seg.end:
            continue
        if text[pos: block.start].strip():
            out.append((pos, block.start, None))
        out.append((max(block.start, seg.start), min(block.end, seg.end), block))
        pos = block.end
    if pos == seg.start or text[pos: seg.end].strip():
        out.append((pos, seg.end, None))
    return out


def _body_chars(text: str, seg: _Segment, a: int, b: int) -> int:
    """Characters of content in [a, b) of a segment: its heading title (when the piece starts the segment) is not."""
    n = len(re.sub(r"\s", "", text[a:b]))
    if a == seg.start and seg.level:
        n -= len(re.sub(r"\s", "", seg.path[-1]))
    return max(0, n)


def _merge_runs(pieces: list[list], settings: ChunkerSettings, articles: bool = False) -> list[list]:
    """Merge small pieces within each run of prose; table pieces (they carry a 4th item, the header) stay as cut."""
    out: list[list] = []
    run: list[list] = []
    for piece in pieces:
        if len(piece) == 4:
            merged = _merge_small(run, settings, articles)
            if merged and all(n == 0 for _, n in merged[-1][0]) and piece[0][0][0][: len(merged[-1][0][-1][0])] == \
                    merged[-1][0][-1][0]:
                merged.pop()  # a bare heading over a table: its rows carry the section path already
            out.extend(merged)
            out.append(piece)
            run = []
        else:
            run.append(piece)
    out.extend(_merge_small(run, settings, articles))
    return out


def _merge_small(pieces: list[list], settings: ChunkerSettings, articles: bool = False) -> list[list]:
    """Merge tiny pieces: a heading or short intro goes forward into its first child; a tiny leaf joins a sibling.
    In a document numbered by article each article stays a chunk of its own (a lookup by number, a citation of
    '第十五条' must not land in a chunk named after its neighbour); only a bare chapter heading joins its first
    article, and the preamble (title, adoption notes) stays apart."""

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
        if small(piece) and not (articles and (not piece[0][-1][0] or _is_article_path(piece[0][-1][0]))):
            carry = piece
        else:
            forward.append(piece)
    if carry is not None:
        forward.append(carry)

    if articles:
        return forward
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


def _is_article_path(path: tuple[str, ...]) -> bool:
    return bool(path) and bool(HEADING_PATTERNS[-1][1].match(path[-1]))


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
