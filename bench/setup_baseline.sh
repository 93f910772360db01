#!/usr/bin/env bash
# Creates an isolated venv for the cms-mrf-extractor baseline.  It lives apart
# from the project venv on purpose: it is something we measure against, never a
# dependency, and its pins must not leak into (or be changed by) the project.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv-baseline"
python="${PYTHON:-python3.11}"
command -v "$python" >/dev/null || python=python3

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "cms-mrf-extractor==0.1.2"
"$venv/bin/python" -m pip show cms-mrf-extractor | sed -n '1,3p'
ls "$venv/bin" | grep -i -E 'mrf|cms' || true
