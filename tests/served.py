"""Run the service (rag.service.create_app) with uvicorn in a thread on a free loopback port: real HTTP."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager

import httpx

from .test_app_api import free_port


@contextmanager
def serving(assistant, settings=None, ui: bool = False):
    """Yield (base URL, app) of the service over `assistant`; stop the server afterwards."""
    import uvicorn

    from rag.service import create_app

    settings = settings or assistant.settings
    mount = None
    if ui:
        from webui.mount import ui_mounter

        mount = ui_mounter(assistant, settings)
    app = create_app(assistant, settings, mount)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the service did not start")
        time.sleep(0.05)
    try:
        yield url, app
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def sse_events(response: httpx.Response) -> list[tuple[str, str]]:
    """(event, data) pairs of a Server-Sent Events response."""
    events, name, data = [], "message", []
    for line in response.iter_lines():
        if not line:
            if data:
                events.append((name, "\n".join(data)))
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].strip())
    if data:
        events.append((name, "\n".join(data)))
    return events
