"""Exceptions with a message a user can act on: Chinese for users (`str(e)`), English for logs (`e.log_message`)."""

from __future__ import annotations


class RagError(Exception):
    """Base class: `str(e)` is the Chinese message shown to users, `e.log_message` the English one for logs."""

    def __init__(self, message_zh: str, message_en: str = ""):
        super().__init__(message_zh)
        self.message_zh = message_zh
        self.log_message = message_en or message_zh


class LoadError(RagError):
    """A document could not be read (unsupported type, bad encoding, binary, empty, corrupt)."""


class IndexNotFoundError(RagError):
    """No index at the given folder."""


class IndexMismatchError(RagError):
    """The index was built with other settings (embedding model, chunker) than the ones in force."""


class IndexCorruptError(RagError):
    """Index files are missing or unreadable."""


class MissingExtraError(RagError):
    """An optional backend's package is not installed; the message names the extra to install."""

    def __init__(self, package: str, extra: str, what: str):
        super().__init__(
            f"{what} 需要可选依赖 {package}：请运行 pip install 'policyqa[{extra}]'",
            f"{what} needs the optional package {package}: pip install 'policyqa[{extra}]'",
        )
        self.extra = extra


class BackendError(RagError):
    """An embedding or LLM backend failed (timeout, refused connection, bad reply)."""


class InputError(RagError):
    """A question or a request that cannot be served as given (empty, too long)."""


class StorageError(RagError):
    """The index or the embedding cache could not be written (disk full, no permission); the old index stays."""
