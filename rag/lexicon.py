"""Word lists and maps as data: rag/data/lexicon/<name>.txt, overridable per corpus by <index_dir>/lexicon/<name>.txt.

File format (UTF-8): one entry per line; blank lines and `#` comments (at line start, or after whitespace) are
ignored. A map line is `key<TAB>value1 value2 …`. In an override file a line adds an entry (for a map: sets the key's
values, replacing the packaged ones) and `-entry` (`-key`) removes one, so a corpus can adapt a list without copying it.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from .errors import RagError

DATA_DIR = Path(__file__).resolve().parent / "data" / "lexicon"
_NAME = re.compile(r"^[A-Za-z0-9_]+$")
_COMMENT = re.compile(r"(?:^|\s)#.*$")


class LexiconError(RagError):
    """A word-list file is missing or malformed."""


def load_list(name: str, index_dir: str | Path | None = None) -> tuple[str, ...]:
    """Entries of the list `name`, in file order without duplicates, with the per-corpus override applied."""
    override, mtime = _override(name, index_dir)
    return _load_list(name, override, mtime)


def load_map(name: str, index_dir: str | Path | None = None) -> dict[str, tuple[str, ...]]:
    """The map `name` (key -> values), with the per-corpus override applied. A fresh dict: callers may change it."""
    override, mtime = _override(name, index_dir)
    return dict(_load_map(name, override, mtime))


def override_file(name: str, index_dir: str | Path | None) -> str:
    """Path of the corpus's override file for the list `name` next to the index, '' when there is none."""
    return _override(name, index_dir)[0]


def _override(name: str, index_dir: str | Path | None) -> tuple[str, float]:
    """Resolved path and mtime of the corpus's override file ('' and 0 when there is none): the cache key."""
    if not _NAME.match(name):
        raise LexiconError(f"词表名称无效：{name!r}（只能包含字母、数字和下划线）", f"invalid lexicon name {name!r}")
    if index_dir is None:
        return "", 0.0
    path = Path(index_dir) / "lexicon" / f"{name}.txt"
    try:
        return str(path.resolve()), path.stat().st_mtime
    except OSError:
        return "", 0.0


def _lines(path: Path) -> list[tuple[int, str]]:
    """(line number, content) of the non-blank, non-comment lines of a lexicon file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LexiconError(f"找不到词表文件：{path}", f"lexicon file not found: {path}") from None
    except UnicodeDecodeError:
        raise LexiconError(f"词表文件不是 UTF-8 编码：{path}", f"lexicon file is not UTF-8: {path}") from None
    out = []
    for no, raw in enumerate(text.lstrip("\ufeff").splitlines(), 1):
        line = _COMMENT.sub("", raw).strip(" \u3000\r\n")
        if line:
            out.append((no, line))
    return out


def _bad(path: Path, no: int, what_zh: str, what_en: str) -> LexiconError:
    return LexiconError(f"词表文件格式错误：{path} 第 {no} 行{what_zh}", f"malformed lexicon file {path} line {no}: {what_en}")


def _list_entries(path: Path, override: bool) -> list[tuple[str, str]]:
    """('+'|'-', entry) per line; '-' only in override files."""
    out = []
    for no, line in _lines(path):
        if "\t" in line:
            raise _bad(path, no, "：列表的一行只能有一个词条（不能含制表符）", "a list line holds one entry (no tab)")
        if override and line.startswith("-"):
            entry = line[1:].strip()
            if not entry:
                raise _bad(path, no, "：“-”后缺少要删除的词条", "'-' without an entry to remove")
            out.append(("-", entry))
        else:
            out.append(("+", line))
    return out


@functools.lru_cache(maxsize=128)
def _load_list(name: str, override: str, mtime: float) -> tuple[str, ...]:
    entries: dict[str, None] = {}
    for op, entry in _list_entries(DATA_DIR / f"{name}.txt", override=False):
        entries[entry] = None
    if override:
        for op, entry in _list_entries(Path(override), override=True):
            if op == "-":
                entries.pop(entry, None)
            else:
                entries[entry] = None
    return tuple(entries)


def _map_entries(path: Path, override: bool) -> list[tuple[str, str, tuple[str, ...]]]:
    """('+'|'-', key, values) per line; '-' only in override files."""
    out = []
    for no, line in _lines(path):
        if override and line.startswith("-") and "\t" not in line:
            key = line[1:].strip()
            if not key:
                raise _bad(path, no, "：“-”后缺少要删除的键", "'-' without a key to remove")
            out.append(("-", key, ()))
            continue
        key, tab, rest = line.partition("\t")
        values = tuple(dict.fromkeys(rest.split()))
        if not tab or not key.strip() or not values:
            raise _bad(path, no, "：应为“键<TAB>值1 值2 …”", "expected 'key<TAB>value1 value2 …'")
        out.append(("+", key.strip(), values))
    return out


@functools.lru_cache(maxsize=128)
def _load_map(name: str, override: str, mtime: float) -> tuple[tuple[str, tuple[str, ...]], ...]:
    entries: dict[str, tuple[str, ...]] = {}
    for op, key, values in _map_entries(DATA_DIR / f"{name}.txt", override=False):
        entries[key] = entries.get(key, ()) + tuple(v for v in values if v not in entries.get(key, ()))
    if override:
        for op, key, values in _map_entries(Path(override), override=True):
            if op == "-":
                entries.pop(key, None)
            else:
                entries[key] = values
    return tuple(entries.items())
