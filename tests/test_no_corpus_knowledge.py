"""Knowledge is data, code is mechanism: no name, place, company, slogan or figure of the bundled documents appears
in the library's or the UI's code (.py files under rag/ and webui/). Data files (word lists, the gazetteer, prompts)
may hold such knowledge; code must work the same on a corpus that has never heard of it."""

from __future__ import annotations

import re
from functools import cache

from rag.loaders import load_document
from rag.places import find_places

from .conftest import CORPUS, ROOT

SCANNED = ("rag", "webui")

_NAME_CHARS = r"[\u4e00-\u9fff（）()A-Za-z·]"
_ORGANISATION = re.compile(rf"{_NAME_CHARS}{{2,24}}?(?:股份有限公司|有限公司|公司|集团|医院|研究院)")
# Where an organisation's name cannot start: function words and phrases that run into it in a sentence.
_NAME_BREAK = re.compile(r".*(?:[、，。；：“”\"的与和及等在是让但对该将以由向为从把被]|已有|依托|推进|设立|引入|举办|加快|企业|一家)")
_QUOTED = re.compile(r"“([^“”\n]{4,20})”|\"([^\"\n]{4,20})\"")
_FIGURE = re.compile(r"\d+(?:\.\d+)?(?:亿元|万元|元|亿|万|%|倍|平方米|亩|天|家|个|项|名|人|台|套|件)")
_SMALL_COUNT = re.compile(r"\d(?:天|家|个|项|名|人|台|套|件)")  # 1个, 3项: too common to tell a document apart


@cache
def _documents():
    return [load_document(p) for p in sorted(CORPUS.glob("*.txt"))]


def _places() -> set[str]:
    """Cities and counties the documents name, in their titles above all, in full and short form (深圳市/深圳,
    越城区/越城). Provinces are general knowledge (a gazetteer or a question may name any of them)."""
    names = set()
    for doc in _documents():
        for m in find_places(doc.title + "\n" + doc.source_text):
            for p in m.places:
                if p.level in ("city", "county"):
                    names |= {n for n in (p.name, p.short, m.form) if len(n) >= 2}
    return names


def _organisations() -> set[str]:
    """Companies, groups, hospitals and institutes the documents name (…有限公司, …集团, …医院, …研究院)."""
    names = set()
    for doc in _documents():
        for m in _ORGANISATION.finditer(doc.source_text):
            name = _NAME_BREAK.sub("", m.group())
            if len(name) >= 5:
                names.add(name)
    return names


def _slogans() -> set[str]:
    """Quoted phrases of 4-20 characters (“一站四中心四平台”)."""
    return {a or b for doc in _documents() for a, b in _QUOTED.findall(doc.source_text)}


def _figures() -> set[str]:
    """Numbers with units (2000亿元, 41天, 50%), leaving out one-digit counts and years."""
    return {f for doc in _documents() for f in _FIGURE.findall(doc.source_text) if not _SMALL_COUNT.fullmatch(f)}


def distinctive_names() -> dict[str, set[str]]:
    """What the bundled documents know that code must not: kind -> strings."""
    return {"place": _places(), "organisation": _organisations(), "slogan": _slogans(), "figure": _figures()}


def _code_files():
    for top in SCANNED:
        for path in sorted((ROOT / top).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            yield rel, path.read_text(encoding="utf-8")


def test_the_corpus_yields_names_of_every_kind():
    """The extraction itself works: each kind finds what a reader of the five documents would point at."""
    found = distinctive_names()
    assert {"深圳", "深圳市", "越城", "越城区", "郑州", "晋中", "新乡", "长垣"} <= found["place"]
    assert not {"河南", "河南省", "浙江"} & found["place"]
    assert "华瑞医疗科技(山西)有限公司" in found["organisation"]
    assert "一站四中心四平台" in found["slogan"]
    assert "2000亿元" in found["figure"] and not any(re.fullmatch(r"\d{4}年", f) for f in found["figure"])


def test_no_corpus_knowledge_in_code():
    found = distinctive_names()
    hits = []
    for rel, source in _code_files():
        for no, line in enumerate(source.splitlines(), 1):
            for kind, names in found.items():
                for name in names:
                    if name in line and not (kind == "figure" and _not_a_figure_here(line, name)):
                        hits.append(f"{rel}:{no}: {kind} {name!r}: {line.strip()[:100]}")
    assert not hits, "the bundled documents' knowledge in code:\n" + "\n".join(sorted(set(hits)))


def _not_a_figure_here(line: str, figure: str) -> bool:
    """A figure is only quoted from a document in a line of Chinese text, and not as part of a longer number
    ('12000亿元', '0.50%'); '50%' in a CSS keyframe is not a figure of the corpus."""
    if not re.search(r"[\u4e00-\u9fff]", line):
        return True
    return all(
        m.start() > 0 and (line[m.start() - 1].isdigit() or line[m.start() - 1] == ".")
        for m in re.finditer(re.escape(figure), line)
    )
