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

# shellcheck source=scripts/apt_install.sh
. "$(dirname "$0")/apt_install.sh"
apt_install install_tools.sh "${missing[@]}"
tesseract --list-langs 2>&1 | grep -q chi_sim
