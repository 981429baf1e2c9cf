"""All Chinese text handling lives here: normalisation with a map back to source offsets, sentence splitting,
punctuation folding for matching.

Real users' files mix OCR line breaks inside sentences, full-width indentation, stray spaces between Chinese
characters, Markdown/HTML markup and ASCII/full-width punctuation. `normalize` cleans these while recording, for
every output character, the offset of the source character it came from, so any span of normalised text can be
pointed at in the original file. Punctuation itself is never rewritten in the output, so exact quotes stay exact.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

# Characters that end a sentence or a paragraph-level clause: a line break after one is a real paragraph break.
TERMINAL = set("。！？!?；;：:…」』”\"）)】]")
SENTENCE_END = set("。！？!?；;")
_SPACES = set(" \t\u3000\u00a0\u2002\u2003\u2009\u200a\u202f")
_ZERO_WIDTH = set("\u200b\u200c\u200d\u2060\ufeff")
# A line shorter than this that lacks end punctuation is a heading or a caption, never a broken sentence.
JOIN_MIN_LINE = 24
_CLAUSE_PUNCT = set("，,、。；;")

_MARKUP = re.compile(
    r"^\s*(?:\*\s*){3,}\s*$|^\s*(?:-\s*){3,}\s*$|^\s*(?:_\s*){3,}\s*$"  # horizontal rules
    r"|<!--.*?-->"  # HTML comments such as <!--more-->
    r"|</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*)?/?>"  # HTML tags, not autolinks like <http://…>
    r"|\*\*"  # Markdown bold (not __: it occurs in identifiers and file names users quote)
    r"|^\s*#{1,6}\s+"  # Markdown heading marks
    r"|^\s*>\s?"  # Markdown blockquote
)

_MD_HEADING = re.compile(r"^\s*#{1,6}\s+\S")


def is_cjk(ch: str) -> bool:
    """True for Chinese characters and full-width CJK punctuation."""
    if not ch:
        return False
    o = ord(ch)
    return (
        0x4E00 <= o <= 0x9FFF
        or 0x3400 <= o <= 0x4DBF
        or 0x3000 <= o <= 0x303F
        or 0xFF00 <= o <= 0xFFEF
        or 0x20000 <= o <= 0x2FFFF
        or ch in "“”‘’—…·"
    )


@dataclass(frozen=True)
class Normalized:
    """Normalised text plus `offsets[i]`: the source offset of normalised character i."""

    text: str
    offsets: list[int]

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a normalised span [start, end) to the smallest source span that covers it."""
        if end <= start:
            pos = self.offsets[start] if start < len(self.offsets) else (self.offsets[-1] + 1 if self.offsets else 0)
            return pos, pos
        return self.offsets[start], self.offsets[end - 1] + 1


def _clean_line(raw: str, line_start: int) -> list[tuple[str, int]]:
    """Remove markup and stray spaces from one line; return kept (char, source offset) pairs."""
    removed = [False] * len(raw)
    for m in _MARKUP.finditer(raw):
        for i in range(m.start(), m.end()):
            removed[i] = True
    kept: list[tuple[str, int]] = []
    for i, ch in enumerate(raw):
        if removed[i] or ch in _ZERO_WIDTH:
            continue
        if unicodedata.category(ch) == "Cc" and ch not in "\t":
            continue  # control characters carry no text
        kept.append((" " if ch in _SPACES else ch, line_start + i))
    # Collapse runs of spaces; drop them at line ends and between two CJK characters (OCR artefacts).
    out: list[tuple[str, int]] = []
    i = 0
    while i < len(kept):
        ch, pos = kept[i]
        if ch != " ":
            out.append((ch, pos))
            i += 1
            continue
        j = i
        while j < len(kept) and kept[j][0] == " ":
            j += 1
        prev = out[-1][0] if out else ""
        nxt = kept[j][0] if j < len(kept) else ""
        if prev and nxt and not (is_cjk(prev) and is_cjk(nxt)) and not (is_cjk(prev) and nxt.isdigit()) and not (
            prev.isdigit() and is_cjk(nxt)
        ):
            out.append((" ", pos))
        i = j
    return out


def _is_table_row(line: list[tuple[str, int]]) -> bool:
    return len(line) >= 2 and line[0][0] == "|" and line[-1][0] == "|"


def _joins(prev_line: list[tuple[str, int]], next_line: list[tuple[str, int]]) -> str | None:
    """Decide how a line break between two non-empty lines is rendered: '' (joined), ' ' or None (kept)."""
    last = prev_line[-1][0]
    first = next_line[0][0]
    if _is_table_row(prev_line) or _is_table_row(next_line):
        return None  # a table row is a line of its own (rag/tables.py)
    if last in TERMINAL or len(prev_line) < JOIN_MIN_LINE:
        return None
    # A sentence broken by OCR already has clause punctuation before the break; titles and captions do not.
    if not any(ch in _CLAUSE_PUNCT for ch, _ in prev_line):
        return None
    if last.isascii() and last.isalnum() and first.isascii() and first.isalnum():
        return " "
    if is_cjk(last) or last in ",、，" or last.isdigit():
        return ""
    return None


def normalize(raw: str) -> Normalized:
    """Normalise a piece of source text and keep the map back to its offsets (see module docstring)."""
    chars: list[str] = []
    offsets: list[int] = []
    prev: list[tuple[str, int]] | None = None
    prev_heading = False
    pending_break: int | None = None  # source offset of the first line break since the last text
    pos = 0
    for line in raw.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        cleaned = _clean_line(body, pos)
        line_end = pos + len(body)
        pos += len(line)
        if not cleaned:
            if prev is not None and pending_break is None:
                pending_break = line_end
            continue
        if prev is not None:
            brk = pending_break if pending_break is not None else cleaned[0][1] - 1
            how = None if prev_heading else _joins(prev, cleaned)
            if how is None:
                chars.append("\n")
                offsets.append(brk)
            elif how == " ":
                chars.append(" ")
                offsets.append(brk)
        for ch, p in cleaned:
            chars.append(ch)
            offsets.append(p)
        prev = cleaned
        prev_heading = _MD_HEADING.match(body) is not None  # a Markdown heading never runs on into the next line
        pending_break = line_end if line != body else None
    return Normalized("".join(chars), offsets)


def normalize_span(raw: str, start: int, end: int) -> Normalized:
    """Normalise the slice raw[start:end] the way the whole document is normalised.

    Whether a line break joins two lines depends on the whole lines around it, so the slice is normalised
    inside its full lines and then cut back to [start, end). Offsets point into `raw`.
    """
    start, end = max(0, start), min(len(raw), end)
    if end <= start:
        return Normalized("", [])
    line_start = raw.rfind("\n", 0, start) + 1
    line_end = raw.find("\n", end)
    line_end = len(raw) if line_end == -1 else line_end
    norm = normalize(raw[line_start:line_end])
    chars, offsets = [], []
    for ch, off in zip(norm.text, norm.offsets):
        off += line_start
        if start <= off < end:
            chars.append(ch)
            offsets.append(off)
    return Normalized("".join(chars), offsets)


def normalize_text(raw: str) -> str:
    """Only the normalised text (see `normalize`)."""
    return normalize(raw).text


_FOLD = str.maketrans(
    {
        "，": ",", "。": ".", "：": ":", "；": ";", "！": "!", "？": "?", "（": "(", "）": ")",
        "“": '"', "”": '"', "‘": "'", "’": "'", "【": "[", "】": "]", "—": "-", "－": "-", "～": "~",
        "、": ",", "《": "<", "》": ">", "％": "%", "\n": " ",
    }
)


def fold(text: str) -> str:
    """Fold width and punctuation variants (full-width ↔ ASCII) for matching, never for display."""
    return unicodedata.normalize("NFKC", text).translate(_FOLD).lower()


# A table row ('| 某区 | X亿元 |', rag/tables.py) is one sentence, whatever punctuation its cells hold.
_SENT_RE = re.compile(r"\|[^\n]*\|(?=\n|$)|[^。！？!?；;\n]*(?:[。！？!?；;]+[”’」』）)]*|\n|$)")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split text[start:end] into sentences at 。！？；!?; and line breaks (a table row is one); spans exclude the
    line breaks."""
    end = len(text) if end is None else end
    spans = (_strip_span(text, m.start(), m.end(), head="\n ", tail="\n ") for m in _SENT_RE.finditer(text, start, end))
    return [(a, b) for a, b in spans if b > a]


def _strip_span(text: str, a: int, b: int, head: str, tail: str) -> tuple[int, int]:
    """Narrow text[a:b] past leading characters in `head` and trailing ones in `tail`."""
    while b > a and text[b - 1] in tail:
        b -= 1
    while a < b and text[a] in head:
        a += 1
    return a, b


_OPEN = "“‘《（(【「『"
_CLOSE = "”’》）)】」』"


# A thousands separator ('33,700人'): a comma no clause ends at. One pattern for every clause splitter.
THOUSANDS_COMMA = r"(?<=[0-9]),(?=[0-9]{3}(?![0-9]))"
_THOUSANDS = re.compile(THOUSANDS_COMMA)
CLAUSE_END = re.compile(rf"[，；;。]|(?!{THOUSANDS_COMMA}),")  # a clause's closing mark


def _thousands_separator(text: str, i: int) -> bool:
    """Is the comma at i a thousands separator?"""
    return _THOUSANDS.match(text, i) is not None


def _comma_splits(text: str, start: int, end: int, outside_brackets: bool) -> list[tuple[int, int]]:
    spans, a, depth = [], start, 0
    for i in range(start, end):
        ch = text[i]
        if outside_brackets and ch in _OPEN:
            depth += 1
        elif outside_brackets and ch in _CLOSE:
            depth = max(0, depth - 1)
        elif ch in "，," and depth == 0 and not _thousands_separator(text, i):
            spans.append((a, i))
            a = i + 1
    spans.append((a, end))
    return spans


def clause_spans(text: str, start: int, end: int, trim: bool = False) -> list[tuple[int, int]]:
    """Split a sentence into clauses at ，, boundaries (for picking the shortest quote that answers); `trim` narrows
    each past surrounding spaces and its trailing punctuation."""
    spans = _comma_splits(text, start, end, outside_brackets=False)
    if trim:
        spans = [_strip_span(text, x, y, head=" \u3000", tail="。；;！!？?，, \u3000") for x, y in spans]
    return [(x, y) for x, y in spans if y > x]


def quote_clause_spans(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Clauses of text[start:end] split at ，, outside quotes and brackets, trailing punctuation trimmed.

    '按照“统筹规划，分步实施”原则' stays one clause: a comma inside quotation marks does not end a clause.
    """
    spans = (_strip_span(text, x, y, head=" ", tail="。；;！!？?，, ")
             for x, y in _comma_splits(text, start, end, outside_brackets=True))
    return [(x, y) for x, y in spans if y > x]


def book_title(title: str) -> str:
    """A document title as answers name it, in 《》; one that already holds 《》 ('某省《…》实施办法') is not wrapped
    again."""
    return title if "《" in title else f"《{title}》"
