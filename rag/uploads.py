"""Uploads: check type and size, keep a copy under the index's uploads folder, index incrementally, or remove.

A rejected file leaves the index and the uploads folder as they were: files are read (and so checked) in a
staging folder first and only then moved into place; if indexing fails, the previous copies are put back.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import LoadError, RagError
from rag.loaders import load_document

log = logging.getLogger(__name__)

UPLOAD_SUFFIXES = (".pdf", ".docx", ".doc", ".xlsx", ".txt", ".md", ".markdown", ".html", ".htm", ".png", ".jpg", ".jpeg")
MAX_UPLOAD_MB = 20
# What the first bytes of a binary format must be: a renamed .exe is not a PDF.
_MAGIC = {".pdf": (b"%PDF-",), ".docx": (b"PK\x03\x04",), ".xlsx": (b"PK\x03\x04",),
          ".doc": (bytes.fromhex("d0cf11e0a1b11ae1"),), ".png": (b"\x89PNG\r\n\x1a\n",), ".jpg": (b"\xff\xd8\xff",),
          ".jpeg": (b"\xff\xd8\xff",)}


def uploads_dir(index_dir: Path) -> Path:
    """Where uploaded files are kept for an index: a sibling folder, because ingest never reads inside an index."""
    index_dir = Path(index_dir)
    return index_dir.parent / f"{index_dir.name}-uploads"


def check_upload(path: Path, max_mb: int = MAX_UPLOAD_MB) -> str | None:
    """The Chinese reason a file cannot be uploaded (type, size, content signature), or None when it may."""
    suffix = path.suffix.lower()
    if suffix not in UPLOAD_SUFFIXES:
        return f"不支持的文件类型 {suffix or '（无扩展名）'}，只能上传 .pdf .docx .doc .xlsx .txt .md .html .png .jpg"
    try:
        size = path.stat().st_size
        with open(path, "rb") as f:
            head = f.read(8)
    except OSError:
        return "无法读取上传的文件"
    if size > max_mb * 1024 * 1024:
        return f"文件过大（{size / 1024 / 1024:.1f} MB），上限 {max_mb} MB"
    if size == 0:
        return "文件是空的"
    magic = _MAGIC.get(suffix)
    if magic and not head.startswith(magic):
        return f"文件内容与扩展名 {suffix} 不符（不是有效的 {suffix[1:].upper()} 文件）"
    return None


@dataclass
class UploadResult:
    """Outcome of one upload: per-file lines for the user (Chinese) and which documents changed."""

    lines: list[str] = field(default_factory=list)
    added: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.added) and not self.rejected


def _is_upload(record_source: str, folder: Path) -> bool:
    try:
        return folder.resolve() in Path(record_source).resolve().parents
    except OSError:
        return False


def add_uploads(assistant, files: list[str | Path], progress=None, max_mb: int = MAX_UPLOAD_MB) -> UploadResult:
    """Check, stage, move into the uploads folder and index `files`; the document id is the original file name."""
    result = UploadResult()
    folder = uploads_dir(assistant.index_dir)
    stage = folder / ".staging" / uuid.uuid4().hex
    stage.mkdir(parents=True, exist_ok=True)
    try:
        ready: list[tuple[Path, Path]] = []  # (staged copy, final place)
        seen: set[str] = set()
        existing = {r.doc.doc_id: r.doc.source for r in assistant.documents()}
        for f in files:
            src = Path(f)
            name = src.name
            reason = check_upload(src, max_mb)
            if reason is None and name in seen:
                reason = "同一批上传中有重名文件"
            if reason is None and name in existing and not _is_upload(existing[name], folder):
                reason = "索引中已有同名文档（来自语料库），请改名后再上传"
            if reason is None:
                staged = stage / name
                shutil.copyfile(src, staged)
                try:
                    load_document(staged)  # reads and checks the content; the reason comes back in Chinese
                except LoadError as e:
                    log.info("upload %s rejected: %s", name, e.log_message)
                    reason = str(e)
                else:
                    ready.append((staged, folder / name))
                    seen.add(name)
            if reason is not None:
                result.rejected.append((name, reason))
                result.lines.append(f"❌ {name}：{reason}")
        if ready:
            _index(assistant, ready, stage, result, progress)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return result


def _index(assistant, ready: list[tuple[Path, Path]], stage: Path, result: UploadResult, progress) -> None:
    backups: list[tuple[Path, Path]] = []
    placed: list[Path] = []
    for staged, final in ready:
        if final.exists():
            backup = stage / (final.name + ".previous")
            shutil.move(str(final), backup)
            backups.append((backup, final))
        shutil.move(str(staged), final)
        placed.append(final)

    def restore(paths: list[Path]) -> None:
        for p in paths:
            p.unlink(missing_ok=True)
        for backup, final in backups:
            if final in paths:
                shutil.move(str(backup), final)

    try:
        report = assistant.add_files(placed, progress=progress)
    except RagError as e:
        log.warning("upload indexing failed: %s", e.log_message)
        restore(placed)
        result.rejected.extend((p.name, str(e)) for p in placed)
        result.lines.append(f"❌ 添加失败，索引未改变：{e}")
        return
    except Exception as e:  # never leave half-placed files behind a failed ingest
        log.exception("upload indexing failed")
        restore(placed)
        result.rejected.extend((p.name, "索引时出错") for p in placed)
        result.lines.append(f"❌ 添加失败，索引未改变（{type(e).__name__}）")
        return
    skipped = {Path(f).name: reason for f, reason in report.skipped}
    restore([p for p in placed if p.name in skipped])
    counts = {r.doc.doc_id: r.chunk_count for r in assistant.documents()}
    for p in placed:
        if p.name in skipped:
            result.rejected.append((p.name, skipped[p.name]))
            result.lines.append(f"❌ {p.name}：{skipped[p.name]}")
        elif p.name in report.unchanged:
            result.added.append(p.name)
            result.lines.append(f"✅ {p.name}：内容未变化，已在索引中")
        else:
            verb = "已更新" if p.name in report.updated else "已添加"
            result.added.append(p.name)
            result.lines.append(f"✅ {p.name}：{verb}（{counts.get(p.name, 0)} 个片段）")


def remove_upload(assistant, doc_id: str) -> bool:
    """Remove one document from the index and its uploaded copy; True when it was an upload (its file is gone
    too), False for a corpus document (back at the next sync). KeyError when not indexed; RagError on failure."""
    record = assistant.document(doc_id)
    assistant.remove_documents([doc_id])
    if _is_upload(record.doc.source, uploads_dir(assistant.index_dir)):
        Path(record.doc.source).unlink(missing_ok=True)
        return True
    return False


def remove_document(assistant, doc_id: str) -> str:
    """Remove one document from the index (and its uploaded copy); returns the message for the user."""
    try:
        was_upload = remove_upload(assistant, doc_id)
    except KeyError:
        return f"❌ 索引中没有文档 {doc_id}"
    except RagError as e:
        log.warning("remove %s failed: %s", doc_id, e.log_message)
        return f"❌ 删除失败：{e}"
    if was_upload:
        return f"🗑️ 已删除 {doc_id}"
    return f"🗑️ 已从索引删除 {doc_id}（语料库中的文件在下次启动时会重新加入）"
