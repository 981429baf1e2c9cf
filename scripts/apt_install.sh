#!/usr/bin/env bash
# Shared by the install_*.sh scripts (sourced): apt_install CALLER [--reinstall] PACKAGE...
# Installs the given Debian packages with apt-get, through sudo when not root; runs `apt-get update` only when apt has
# no candidate for one of them (a fresh container often has empty package lists).
apt_install() {
    local caller=$1
    shift
    local opts=() pkgs=()
    for a in "$@"; do
        case $a in --*) opts+=("$a") ;; *) pkgs+=("$a") ;; esac
    done
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "$caller: need root (or sudo) to apt-get install ${pkgs[*]}" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    local p
    for p in "${pkgs[@]}"; do
        if ! apt-cache policy "$p" 2>/dev/null | grep -q 'Candidate: [0-9]'; then
            $sudo apt-get update -qq
            break
        fi
    done
    $sudo apt-get install -y -qq --no-install-recommends "${opts[@]}" "${pkgs[@]}"
}
