#!/usr/bin/env bash
# Install (as root, via apt-get) or check (otherwise) the system packages kyphoimg needs.
# Usage: tools/sysdeps.sh [test]   (without "test": what running kyphoimg needs; with it:
# also what the test suite needs).
# python3-venv: only when the interpreter cannot create a venv by itself;
# chromium: renders the HTML statistics report in tests/test_demo.py;
# poppler-utils: pdftotext reads the printed report back (tests/stats/test_report_estimable.py:
# no number wraps in report.pdf) and pdftoppm shows its pages;
# dicom3tools: dciodvfy checks the synthetic DICOM films against their IODs in
# tests/test_sample.py;
# orthanc, orthanc-dicomweb: the real PACS (DICOMweb and DIMSE) tests/pacs/ runs on loopback;
# xvfb and the X/GL/xcb libraries: the napari plugin's GUI tests, screenshots and P5 run
# for real (Mesa llvmpipe) on a virtual screen.
set -euo pipefail

debs=(python3-venv)
[ "${1:-}" = "test" ] && debs+=(
    chromium dicom3tools poppler-utils orthanc orthanc-dicomweb
    xvfb xauth libgl1 libegl1 libgl1-mesa-dri libglx-mesa0 libopengl0 libxkbcommon0
    libxkbcommon-x11-0 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1
    libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xfixes0 libxcb-xinerama0
    libxcb-xinput0 libxcb-xkb1 libdbus-1-3 libfontconfig1 libfreetype6 fonts-dejavu-core
)
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
