#!/usr/bin/env bash
# Install everything the test suite needs on a fresh machine, then run the whole suite.
# Used as-is by CI (.ci/run). Extra arguments go to pytest, e.g. `bash scripts/test.sh -k chunker`.
set -euo pipefail
cd "$(dirname "$0")/.."

# A virtual environment of our own unless one is active already.
if [ -z "${VIRTUAL_ENV:-}" ]; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  # shellcheck disable=SC1091
  . .venv/bin/activate
fi

# Debian's Chromium for the browser tests (Playwright cannot download a browser of its own here).
bash scripts/install_browser.sh
# Debian's antiword (.doc) and Tesseract + simplified-Chinese data (OCR, the `ocr` extra).
bash scripts/install_tools.sh

python -m pip install -q --upgrade pip
# torch is pinned to the CPU build through the `st` extra; a bare `torch` would pull a multi-GB CUDA build.
python -m pip install -q -e ".[test,st]"
# llama-cpp-python compiles from source (~6 min on 2 cores) the first time, into a wheel kept in
# ~/.cache/policyqa-wheels. A portable build: llama.cpp's default -march=native build segfaulted in decode on
# these virtual machines (measured: the same version built with GGML_NATIVE=OFF, GGML_OPENMP=OFF runs).
mkdir -p ~/.cache/policyqa-wheels
if ! ls ~/.cache/policyqa-wheels/llama_cpp_python-*.whl >/dev/null 2>&1; then
  CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_OPENMP=OFF" python -m pip wheel -q --no-cache-dir --no-deps \
    -w ~/.cache/policyqa-wheels "llama-cpp-python>=0.3.36" || echo "WARNING: llama-cpp-python did not build" >&2
fi
python -m pip install -q --find-links ~/.cache/policyqa-wheels -e ".[llamacpp]" || echo "WARNING: llama-cpp-python did not install; the local GGUF test will be skipped" >&2

export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
python -m pytest -q "$@"
