"""The UI mounted into the service's FastAPI app at / (`rag serve`), with the same queue and look as `app.py`."""

from __future__ import annotations

import gradio as gr

from rag.uploads import MAX_UPLOAD_MB

from .ui import build_app, launch_options

CONCURRENCY = 4  # questions answered at once through the UI (the API has its own thread pool)
MAX_QUEUE = 64


def ui_mounter(assistant, settings):
    """A function app -> app that mounts the UI at /; RAG_AUTH (settings.auth) turns on the UI's login."""
    auth = None
    if settings.auth:
        user, _, password = settings.auth.partition(":")
        auth = (user, password)
    max_mb = getattr(settings, "max_upload_mb", MAX_UPLOAD_MB)

    def mount(app):
        demo = build_app(assistant, max_upload_mb=max_mb)
        demo.queue(default_concurrency_limit=CONCURRENCY, max_size=MAX_QUEUE)
        return gr.mount_gradio_app(app, demo, path="/", auth=auth, max_file_size=f"{max_mb}mb", show_error=False,
                                   footer_links=[], **launch_options())

    return mount
