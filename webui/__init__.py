"""The Gradio web UI over `rag.Assistant` (kept out of `rag/`, which never imports gradio).

`build_app(assistant) -> gr.Blocks` builds it without starting a server; `app.py` launches it.
"""

from .ui import build_app, launch_options

__all__ = ["build_app", "launch_options"]
