"""Call a chat model under one overall deadline, with retries and backoff where they can help.

The model runs in a worker thread and hands pieces over a queue, so the caller can stop waiting at the deadline
even when a server accepts the connection and then goes silent, or a local model is still reading the prompt.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator

from .backends import ChatBackend, classify_error

log = logging.getLogger(__name__)

MAX_RETRIES = 2  # for 429, 5xx and refused connections; never for 401 or a timeout
BACKOFF_S = 0.5
MAX_RETRY_AFTER_S = 5.0


def stream_with_deadline(make_iter: Callable[[], Iterator[str]], deadline: float,
                         lock: threading.Lock | None = None) -> Iterator[str]:
    """Yield the pieces of `make_iter()` (run in a worker thread); raise TimeoutError at `deadline` (monotonic)."""
    handoff: queue.Queue = queue.Queue()
    cancel = threading.Event()

    def work() -> None:
        acquired = False
        try:
            if lock is not None:
                acquired = lock.acquire(timeout=max(0.0, deadline - time.monotonic()))
                if not acquired:
                    raise TimeoutError("the local model is still busy with an earlier request")
            it = make_iter()
            try:
                for piece in it:
                    if cancel.is_set():  # the caller gave up: stop generating, free the model
                        break
                    handoff.put(("piece", piece))
            finally:
                close = getattr(it, "close", None)
                if close is not None:
                    close()
            handoff.put(("done", None))
        except BaseException as e:  # noqa: BLE001 - handed to the caller's thread, which classifies it
            handoff.put(("error", e))
        finally:
            if acquired:
                lock.release()

    threading.Thread(target=work, daemon=True, name="llm-call").start()
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("overall LLM deadline passed")
            try:
                kind, value = handoff.get(timeout=remaining)
            except queue.Empty:
                raise TimeoutError("overall LLM deadline passed") from None
            if kind == "piece":
                yield value
            elif kind == "done":
                return
            else:
                raise value
    finally:
        cancel.set()


def call_with_retries(make_iter: Callable[[], Iterator[str]], backend: ChatBackend, timeout: float,
                      retries: int = MAX_RETRIES) -> Iterator[str]:
    """Yield pieces of a model call; retry retryable failures that happen before the first piece.

    Raises LLMFailure (Chinese message, English log line, keys redacted) when the call cannot succeed in time.
    """
    deadline = time.monotonic() + timeout
    attempt = 0
    while True:
        yielded = False
        try:
            for piece in stream_with_deadline(make_iter, deadline, backend.lock):
                yielded = True
                yield piece
            return
        except GeneratorExit:
            raise
        except Exception as exc:  # noqa: BLE001 - every client error becomes an LLMFailure
            failure = classify_error(exc, backend, timeout)
        log.warning("LLM call to %s failed (attempt %d): %s", backend.label, attempt + 1, failure.log_message)
        delay = min(failure.retry_after, MAX_RETRY_AFTER_S) if failure.retry_after is not None else BACKOFF_S * 2 ** attempt
        # Text already shown to the user cannot be taken back, so a call that streamed is never retried.
        if yielded or not failure.retryable or attempt >= retries or time.monotonic() + delay >= deadline:
            raise failure
        time.sleep(delay)
        attempt += 1
