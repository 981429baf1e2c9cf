"""The eval sets `rag eval` knows by name (eval/sets.json): where each set's questions, documents and index live,
how its questions are read, and how its index is built on first use.

A SET on the command line is either a JSONL file (answered over --index or the default index) or a name from
eval/sets.json. Paths in sets.json are relative to the repository, absolute, or use `${VAR}` / `${VAR:-default}`
(e.g. `${POLICYQA_EXTERNAL:-../shared/external}/ncp2020/dev.jsonl`), so data kept elsewhere needs no edit.
External data is read in place and never copied into the repository.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import RagError
from .settings import PROJECT_ROOT

log = logging.getLogger(__name__)

SETS_FILE = PROJECT_ROOT / "eval" / "sets.json"
CACHE_DIR = Path(os.environ.get("POLICYQA_CACHE", Path.home() / ".cache" / "policyqa"))
FORMATS = ("jsonl", "cmrc")
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)")


class EvalSetError(RagError):
    """The eval file or set is missing or malformed."""


def expand_path(raw: str, root: Path = PROJECT_ROOT) -> Path:
    """`${VAR}`, `${VAR:-default}`, `$VAR` and `~` expanded; a relative result is taken from the repository root."""

    def var(m: re.Match) -> str:
        name = m.group(1) or m.group(3)
        value = os.environ.get(name) or m.group(2)
        if value is None:
            raise EvalSetError(f"评测集路径 {raw} 用到的环境变量 {name} 未设置", f"{raw}: environment variable {name} unset")
        return value

    path = Path(os.path.expanduser(_VAR.sub(var, raw)))
    return path if path.is_absolute() else root / path


@dataclass(frozen=True)
class EvalSet:
    """One eval set: a name, its questions file and format, the documents it is asked over, the index to use.

    `corpus` None: the index is used as it is (a JSONL file given with --index). For the `cmrc` format the
    passages are written as files into the cache folder and `corpus`/`index` are chosen there."""

    name: str
    questions: Path
    format: str = "jsonl"
    corpus: Path | None = None
    index: Path | None = None
    credit: str = ""
    optional: bool = False  # a missing questions file skips the set with a warning instead of failing
    also: tuple[Path, ...] = ()  # more document folders indexed with the corpus (the laws plus the bundled files)

    def describe(self) -> str:
        """One line for the terminal and the report: questions, documents, index."""
        corpus = f"，文档 {' + '.join(show_path(p) for p in (self.corpus, *self.also))}" if self.corpus else ""
        index = f"，索引 {show_path(self.index)}" if self.index else ""
        return f"{self.name}：题目 {show_path(self.questions)}{corpus}{index}"


def show_path(path: Path | None) -> str:
    """A path as the user reads it: relative to the repository where it can be."""
    if path is None:
        return "—"
    try:
        rel = os.path.relpath(path, PROJECT_ROOT)
    except ValueError:
        return str(path)
    return str(Path(path).resolve()) if rel.startswith(os.pardir + os.sep + os.pardir) else rel


def named_sets(sets_file: Path | None = None) -> dict[str, EvalSet]:
    """Every set of eval/sets.json (or `$RAG_EVAL_SETS`) by name."""
    sets_file = Path(sets_file or os.environ.get("RAG_EVAL_SETS") or SETS_FILE)
    try:
        raw = json.loads(sets_file.read_text(encoding="utf-8"))["sets"]
    except FileNotFoundError:
        return {}
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise EvalSetError(f"评测集清单 {sets_file} 无法读取：{e}", f"bad sets file {sets_file}: {e}") from e
    out = {}
    for name, spec in raw.items():
        fmt = spec.get("format", "jsonl")
        if fmt not in FORMATS or "questions" not in spec:
            raise EvalSetError(f"评测集清单 {sets_file} 中 {name} 的格式不对", f"{sets_file}: bad set {name!r}")
        out[name] = EvalSet(
            name=name, questions=expand_path(spec["questions"]), format=fmt,
            corpus=expand_path(spec["corpus"]) if spec.get("corpus") else None,
            index=expand_path(spec["index"]) if spec.get("index") else None,
            credit=spec.get("credit", ""), optional=bool(spec.get("optional", False)),
            also=tuple(expand_path(p) for p in spec.get("also", [])),
        )
    return out


def resolve_sets(names: list[str], index_dir: Path, say: Callable[[str], None] = log.warning) -> list[EvalSet]:
    """The sets named on the command line: a known name, else a JSONL file answered over `index_dir`.

    An optional set whose questions file is missing is left out with a warning; an unknown name that is not a
    file raises EvalSetError listing the known names."""
    known = named_sets()
    out: list[EvalSet] = []
    for name in names:
        if name in known:
            s = known[name]
            if s.optional and not s.questions.exists():
                say(f"跳过评测集 {name}：找不到 {show_path(s.questions)}")
                continue
            out.append(s)
        elif Path(name).suffix or Path(name).exists():
            out.append(EvalSet(name=Path(name).stem if Path(name).stem not in {s.name for s in out} else name,
                               questions=Path(name), index=Path(index_dir)))
        else:
            raise EvalSetError(f"未知的评测集 {name}：可用 {'、'.join(known) or '（无）'}，或给出 JSONL 文件路径",
                               f"unknown eval set {name!r}; known: {', '.join(known)}")
    if not out:
        raise EvalSetError("没有可评测的评测集", "no eval set left to run")
    return out


# -- CMRC 2018 -------------------------------------------------------------------------------------
def load_cmrc(path: Path):
    """CMRC passages as (doc id, text) and questions as eval items (first answer = must_contain and gold answer)."""
    from .evaluate import EvalItem

    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise EvalSetError(f"找不到 CMRC 数据 {path}", f"CMRC data not found at {path}") from None
    except (OSError, ValueError) as e:
        raise EvalSetError(f"无法读取 CMRC 数据 {path}：{e}", f"cannot read CMRC data {path}: {e}") from e
    passages, items = [], []
    for article in data["data"]:
        for para in article["paragraphs"]:
            doc_id = f"{para['id']}.txt"
            passages.append((doc_id, para["context"]))
            for qa in para["qas"]:
                answers = [a["text"] for a in qa.get("answers", []) if a.get("text", "").strip()]
                if answers:
                    items.append(EvalItem(id=qa["id"], question=qa["question"], type="cmrc",
                                          must_contain=(answers[0],), doc=(doc_id,), answer=answers[0]))
    return passages, items


def cmrc_index(passages, settings, data_sha: str, say: Callable[[str], None] = log.info, progress=None) -> Path:
    """Write the passages as files into the cache folder and index them there (incremental: an unchanged cached
    index is reused as is). The folder is keyed by the settings that shape the index and the data's hash."""
    from .ingest import ingest

    passage_dir = CACHE_DIR / f"cmrc-passages-{data_sha[:12]}"
    if not passage_dir.exists():
        tmp = passage_dir.with_name(passage_dir.name + ".tmp")
        tmp.mkdir(parents=True, exist_ok=True)
        for doc_id, text in passages:
            (tmp / doc_id).write_text(text, encoding="utf-8")
        tmp.rename(passage_dir)
    # `auto` is exact at this size: the same key (and cached index) as `flat`; a Milvus index is its own
    shape = "flat" if settings.faiss_index == "auto" else settings.faiss_index
    key = json.dumps([settings.embedding_fingerprint(), settings.chunker_settings().fingerprint(), shape, data_sha]
                     + ([settings.store] if settings.store != "local" else []), sort_keys=True)
    index_dir = CACHE_DIR / f"cmrc-index-{hashlib.sha1(key.encode()).hexdigest()[:12]}"
    files = [passage_dir / doc_id for doc_id, _ in passages]
    from .store import read_manifest

    if read_manifest(index_dir) is None:
        say(f"构建 CMRC 索引 {index_dir}（约 {sum(len(t) for _, t in passages):,} 字，可能要几分钟）…")
    report = ingest(files, settings, index_dir=index_dir, prune=True, progress=progress)
    if report.n_docs != len(passages):
        raise EvalSetError(f"CMRC 索引只有 {report.n_docs} 篇，应为 {len(passages)} 篇",
                           f"indexed {report.n_docs} of {len(passages)} passages; skipped: {report.skipped[:3]}")
    return index_dir


# -- loading a set and its index -------------------------------------------------------------------
def load_set(s: EvalSet, settings, limit: int | None = None, split: str = "all", say=log.info, progress=None):
    """(items, index folder) of a set: its questions (of one split, first `limit`) and its index, built or
    brought up to date first when the set names a corpus."""
    from .evaluate import load_items, select

    if s.format == "cmrc":
        passages, items = load_cmrc(s.questions)
        data_sha = hashlib.sha256(s.questions.read_bytes()).hexdigest()
        index_dir = s.index or cmrc_index(passages, settings, data_sha, say, progress)
        return select(items, split, limit, s.questions), index_dir
    items = select(load_items(s.questions), split, limit, s.questions)
    if s.corpus is not None:
        ensure_index(s.corpus, s.index, settings, say, progress, also=s.also)
    return items, s.index


def ensure_index(corpus: Path, index_dir: Path, settings, say=log.info, progress=None,
                 also: tuple[Path, ...] = ()) -> None:
    """Build the set's index from its corpus folder on first use, or bring it up to date (incremental: unchanged
    documents are not embedded again). The index is derived from the set's documents, so one built under other
    settings (embedding model, chunker) is rebuilt, as the default index is."""
    from .errors import IndexMismatchError
    from .ingest import index_is_stale, ingest

    folders = [p.resolve() for p in (corpus, *also)]  # a '..' part must not read as a hidden folder
    for folder in folders:
        if not folder.is_dir():
            raise EvalSetError(f"找不到评测集的文档文件夹 {folder}", f"corpus folder {folder} not found")
    if not any(index_is_stale(settings, index_dir, folder) for folder in folders):
        return
    shown = " + ".join(show_path(f) for f in folders)
    say(f"更新索引 {show_path(index_dir)}（文档 {shown}；首次构建需要计算全部向量）…")
    try:
        ingest(folders, settings, index_dir=index_dir, prune=True, progress=progress)
    except IndexMismatchError as e:
        say(f"索引 {show_path(index_dir)} 的设置与当前不同，按当前设置重建（{e.log_message}）")
        ingest(folders, settings, index_dir=index_dir, rebuild=True, progress=progress)


def on_store(index_dir: Path, settings, say=log.info) -> Path:
    """The set's index on the settings' store backend: the local index itself, or a copy of it on another
    backend (`<index>-milvus`, made from the local index's documents and stored vectors, nothing embedded
    again; remade when the local index has changed, its chunker or tokenizer included)."""
    from .store import copy_index, open_local, read_manifest, write_lock

    index_dir = Path(index_dir)
    if settings.store == "local":
        return index_dir
    target = index_dir.with_name(f"{index_dir.name}-{settings.store}")
    local = read_manifest(index_dir) or {}
    with write_lock(target):
        there = read_manifest(target) or {}
        same = all(there.get(k) == local.get(k) for k in ("documents", "embedding", "chunker", "keyword"))
        if settings.store == "milvus":  # a collection keeps the keyword mode it was made with
            same = same and there.get("milvus", {}).get("keyword") == settings.milvus_keyword
        if not same:
            say(f"由 {show_path(index_dir)} 的向量构建 {settings.store} 索引 {show_path(target)}（不重新计算向量）…")
            copy_index(open_local(index_dir), target, settings)
    return target
