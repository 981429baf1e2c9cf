"""Tables as text: one form for every format, so chunking, citing and display read tables the same way.

A loader writes each table it finds (Word, PDF, Excel) as pipe rows, one row a line, header row first:

    | 地区 | 2025年目标 | 2027年目标 |
    | 某区 | X亿元 | Y亿元 |

The same lines in a Markdown file are a table too (its `| --- |` separator line belongs to the header). A cited
row is a span of these lines, so quotes of table text verify like any other text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_SEPARATOR = re.compile(r"^[ \t]*\|(?:[ \t]*:?-{3,}:?[ \t]*\|)+[ \t]*$")


@dataclass(frozen=True)
class TableBlock:
    """Lines [start, end) of a text that form one table; the header ends at `body_start` (its first data row)."""

    start: int
    end: int
    body_start: int

    @property
    def header(self) -> tuple[int, int]:
        return self.start, self.body_start


def clean_cell(text: str | None) -> str:
    """A cell on one line: inner line breaks become spaces, a pipe becomes a full-width one."""
    text = "" if text is None else str(text)
    return re.sub(r"\s+", " ", text.replace("|", "｜")).strip()


def table_text(rows: list[list[str]]) -> str:
    """Rows of cells -> pipe lines (header row first). Empty rows and tables of one empty row give ''."""
    lines = []
    for row in rows:
        cells = [clean_cell(c) for c in row]
        if any(cells):
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def is_row(line: str) -> bool:
    """True for a line of a pipe table."""
    return bool(_ROW.match(line))


def row_cells(line: str) -> list[str]:
    """The cells of one pipe row, stripped."""
    inner = line.strip()[1:-1]
    return [c.strip() for c in inner.split("|")]


def table_blocks(text: str) -> list[TableBlock]:
    """Every table of a text: a run of at least two pipe rows, by character offsets. The header is the first row
    and a Markdown separator line under it."""
    blocks: list[TableBlock] = []
    pos = 0
    run: list[tuple[int, int]] = []
    for line in text.split("\n") + [""]:
        span = (pos, pos + len(line))
        pos += len(line) + 1
        if is_row(line):
            run.append(span)
            continue
        if len(run) >= 2:
            body = 1
            if body < len(run) and _SEPARATOR.match(text[run[body][0]: run[body][1]]):
                body += 1
            if body < len(run):
                blocks.append(TableBlock(run[0][0], run[-1][1], run[body][0]))
        run = []
    return blocks


def row_groups(text: str, block: TableBlock, max_chars: int) -> list[tuple[int, int]]:
    """The block's data rows in groups of whole rows of at most max_chars (a longer row is a group of its own);
    the first group starts at the header, which would otherwise be a piece without content."""
    rows = []
    pos = block.body_start
    for line in text[block.body_start: block.end].split("\n"):
        rows.append((pos, pos + len(line)))
        pos += len(line) + 1
    groups: list[tuple[int, int]] = []
    first = block.start
    for a, b in rows:
        a = first if not groups and first is not None else a
        first = None
        if groups and b - groups[-1][0] <= max_chars:
            groups[-1] = (groups[-1][0], b)
        else:
            groups.append((a, b))
    return groups


def table_at(text: str, offset: int) -> TableBlock | None:
    """The table block of a text that holds an offset, if any."""
    for block in table_blocks(text):
        if block.start <= offset < block.end:
            return block
    return None


def labelled_row(header: str, row: str) -> str:
    """A data row read under its header, for matching a question: '区县 某区 2025年目标 X亿元 …'. Display and
    quotes keep the row itself."""
    names = row_cells(header.split("\n")[0]) if is_row(header.split("\n")[0]) else []
    cells = row_cells(row)
    return " ".join(f"{names[i]} {c}" if i < len(names) and names[i] else c for i, c in enumerate(cells))
