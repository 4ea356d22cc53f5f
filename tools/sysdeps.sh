#!/usr/bin/env bash
# Install (as root, via apt-get) or check (otherwise) the system packages kyphoimg needs.
# python3-venv: only when the interpreter cannot create a venv by itself;
# chromium: renders the HTML statistics report in tests/test_demo.py.
set -euo pipefail

debs=(python3-venv chromium)
missing=()
for d in "${debs[@]}"; do
    dpkg-query -W -f='${Status}' "$d" 2>/dev/null | grep -q "install ok installed" || missing+=("$d")
done
# python3-venv is only needed when the interpreter cannot create a venv by itself.
if python3 -c 'import ensurepip, venv' 2>/dev/null; then
    missing=("${missing[@]/python3-venv}")
fi
missing=($(printf '%s\n' "${missing[@]}" | grep -v '^$' || true))
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
    echo "kyphoimg: installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "kyphoimg: missing system packages: ${missing[*]}" >&2
    echo "  install them with: sudo apt-get install ${missing[*]}  (or your system's equivalent)" >&2
    exit 1
fi
