#!/usr/bin/env bash
# Debian tools the file readers use, for the test suite: antiword (.doc) and Tesseract with its simplified-Chinese
# data (OCR of scanned PDFs and page images, the `ocr` extra; rag/ocr.py). Idempotent like install_browser.sh:
# installs only what is missing; runs `apt-get update` only when apt does not know a package yet.
set -euo pipefail

PKGS=(antiword tesseract-ocr tesseract-ocr-chi-sim)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "file tools already installed: $(tesseract --version 2>&1 | head -1)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        SUDO="sudo"
    else
        echo "install_tools.sh: need root (or sudo) to apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

export DEBIAN_FRONTEND=noninteractive
for p in "${missing[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
        $SUDO apt-get update -qq
        break
    fi
done
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
tesseract --list-langs 2>&1 | grep -q chi_sim
