"""PolicyQA as a service (`rag serve`): one ASGI app with the UI at /, the JSON API at /api/v1 (docs at /docs) and
an OpenAI-compatible endpoint at /v1. FastAPI is imported only inside this package (the `serve` extra).
"""

from __future__ import annotations

import logging

from ..errors import MissingExtraError

log = logging.getLogger("rag.service")


def create_app(assistant, settings=None, mount_ui=None):
    """The ASGI app over one Assistant (see rag.service.app.create_app)."""
    try:
        from .app import create_app as build
    except ImportError as e:
        raise MissingExtraError(e.name or "fastapi", "serve", "rag serve") from e
    return build(assistant, settings, mount_ui)


def serve(assistant, settings, with_ui: bool = True) -> None:
    """Run the service with uvicorn on settings.host:settings.port until interrupted."""
    try:
        import uvicorn
    except ImportError as e:
        raise MissingExtraError("uvicorn", "serve", "rag serve") from e
    mount = None
    if with_ui:
        try:
            from webui.mount import ui_mounter
        except ImportError as e:
            raise MissingExtraError(e.name or "gradio", "serve", "rag serve 的网页界面") from e
        mount = ui_mounter(assistant, settings)
    app = create_app(assistant, settings, mount)
    if settings.host not in ("127.0.0.1", "localhost", "::1") and not (settings.api_tokens.get_secret_value()
                                                                        or settings.api_tokens_file or settings.auth):
        log.warning("serving on %s without RAG_API_TOKENS or RAG_AUTH: anyone who can reach it may upload and remove "
                    "documents", settings.host)
    uvicorn.run(app, host=settings.host, port=settings.port, log_level="info", timeout_graceful_shutdown=5)
