#!/usr/bin/env bash
# Install Debian's Chromium for the Playwright browser tests (tests/test_browser.py).
# Playwright cannot download its own browser here (no network besides package registries), so the tests drive
# /usr/bin/chromium. fonts-noto-cjk and fonts-noto-color-emoji make Chinese text and the few icons in the test
# screenshots render as glyphs instead of boxes.
# Idempotent: installs only what is missing; runs `apt-get update` only when apt does not know a package yet.
set -euo pipefail

PKGS=(chromium fonts-noto-cjk fonts-noto-color-emoji)
missing=()
for p in "${PKGS[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ] && [ -x /usr/bin/chromium ]; then
    echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
    exit 0
fi
REINSTALL=()
if [ ${#missing[@]} -eq 0 ]; then  # package registered but the binary is gone
    missing=(chromium)
    REINSTALL=(--reinstall)
fi

# shellcheck source=scripts/apt_install.sh
. "$(dirname "$0")/apt_install.sh"
apt_install install_browser.sh "${REINSTALL[@]}" "${missing[@]}"
/usr/bin/chromium --version || true
