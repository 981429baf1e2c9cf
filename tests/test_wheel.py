"""The built wheel works anywhere: built from the source, installed in a fresh venv, run from an empty folder.

The wheel is built with pip (no network: --no-build-isolation uses the setuptools at hand) and installed without
its dependencies into a new venv, which sees this environment's packages through a .pth line (the dependencies
are not what is tested, the package is). The commands run with another HOME and no RAG_HOME/PYTHONPATH, so the
data must go to the per-user data folder, prompts must come from inside the package, and nothing may be read from
or written to the checkout or the installed code's folder.
"""

from __future__ import annotations

import json
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path

import pytest

from tests.scripted_llm_server import Reply, ScriptedLLMServer
from tests.test_llm import FACT, GOOD, KEY, MODEL, QUESTION

from .conftest import CORPUS, ROOT

SOURCES = ["rag", "webui", "pyproject.toml", "README.md"]


def run(cmd: list[str], env: dict, cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    out = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert out.returncode == 0, f"{cmd} failed ({out.returncode}):\n{out.stdout[-2000:]}\n{out.stderr[-3000:]}"
    return out


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """A venv with the wheel installed; returns its bin folder, site-packages and a clean environment."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"  # a copy, so that building leaves no build/ or egg-info in the checkout
    src.mkdir()
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy(p, src / name)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("RAG_") and k not in ("PYTHONPATH", "OPENAI_BASE_URL", "OPENAI_API_KEY")}
    run([sys.executable, "-m", "pip", "wheel", str(src), "--no-deps", "--no-build-isolation", "-w", str(tmp / "dist"),
         "-q"], env, tmp)
    wheel = next((tmp / "dist").glob("policyqa-*.whl"))
    venv = tmp / "venv"
    run([sys.executable, "-m", "venv", str(venv)], env, tmp)
    bin_dir = venv / "bin"
    purelib = Path(run([str(bin_dir / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                       env, tmp).stdout.strip())
    # The dependencies come from this environment (a path line: its .pth files, our editable install among them,
    # are not processed, so `rag` can only come from the wheel).
    (purelib / "deps.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    run([str(bin_dir / "python"), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)], env, tmp)
    home = tmp / "home"
    home.mkdir()
    env.update({"HOME": str(home), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "OMP_NUM_THREADS": "1"})
    env.pop("XDG_DATA_HOME", None)
    env["PATH"] = f"{bin_dir}{os.pathsep}{env.get('PATH', '')}"
    work = tmp / "work"  # an unrelated working directory
    work.mkdir()
    return {"bin": bin_dir, "purelib": purelib, "env": env, "home": home, "work": work, "wheel": wheel}


def test_wheel_ships_prompts_and_data(installed):
    import zipfile

    names = set(zipfile.ZipFile(installed["wheel"]).namelist())
    assert {"rag/data/prompts/answer_system.txt", "rag/data/prompts/rewrite.txt", "rag/data/places.tsv",
            "rag/data/answer_model.json"} <= names
    assert any(n.startswith("rag/data/lexicon/") for n in names)
    assert {"rag/service/app.py", "rag/uploads.py", "webui/mount.py"} <= names


def test_installed_rag_ingests_asks_and_uses_the_llm_from_any_folder(installed):
    env, work, b = installed["env"], installed["work"], installed["bin"]
    where = run([str(b / "python"), "-c", "import rag, rag.settings as s; print(rag.__file__); print(s.Settings().home)"],
                env, work).stdout.split("\n")
    assert Path(where[0]).is_relative_to(installed["purelib"]), f"rag imported from {where[0]}, not the wheel"
    home = Path(where[1])
    assert home == installed["home"] / ".local" / "share" / "policyqa"  # platformdirs' per-user data folder

    docs = work / "我的文件"
    shutil.copytree(CORPUS, docs)
    report = json.loads(run([str(b / "rag"), "ingest", str(docs), "--json"], env, work).stdout)
    assert report["n_docs"] == 5 and not report["skipped"]
    assert (home / "default" / "CURRENT").is_file()
    assert not list(installed["purelib"].rglob("CURRENT")), "index data written inside the installed package"
    assert not (work / "index").exists()

    answer = json.loads(run([str(b / "rag"), "ask", QUESTION, "--json"], env, work).stdout)
    assert not answer["refused"] and answer["citations"] and FACT in answer["answer"]

    with ScriptedLLMServer() as server:
        server.push(Reply(GOOD))
        llm_env = {**env, "RAG_LLM_BASE_URL": server.base_url, "RAG_LLM_API_KEY": KEY, "RAG_LLM_MODEL": MODEL}
        out = json.loads(run([str(b / "rag"), "ask", QUESTION, "--llm", "openai", "--json"], llm_env, work).stdout)
        assert server.requests, "the installed package never called the model"
    # A missing prompt would have fallen back to the extractive answerer; the model's answer came through instead.
    assert out["backend"] == f"openai:{MODEL}", out
    assert FACT in out["answer"] and out["citations"] and out["citations"][0]["quote"]


def test_rag_home_places_index_uploads_and_feedback(tmp_path, monkeypatch):
    from rag.settings import Settings

    monkeypatch.delenv("RAG_INDEX", raising=False)
    monkeypatch.setenv("RAG_HOME", str(tmp_path / "data"))
    s = Settings()
    assert s.home == tmp_path / "data" and s.index_dir == tmp_path / "data" / "default"
    monkeypatch.setenv("RAG_INDEX", str(tmp_path / "other"))
    assert Settings().index_dir == tmp_path / "other"  # an explicit index folder still wins
