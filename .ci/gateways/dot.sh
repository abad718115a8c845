#!/usr/bin/env bash
# Django OAuth Toolkit for docs/django-oauth-toolkit.md: a Python virtual
# environment with the versions pinned in test/gateways/dot/requirements.txt,
# from PyPI (wheels only: nothing is compiled). Idempotent: returns at once when
# a venv made from the same requirements is already in
# $OPEN_LOGIN_CACHE/gateways/dot.
set -euo pipefail
cd "$(dirname "$0")/../.."
requirements=test/gateways/dot/requirements.txt
cache=${OPEN_LOGIN_CACHE:-$HOME/.cache/open-login}
out=$cache/gateways/dot
venv=$out/venv
stamp=$(sha256sum "$requirements" | cut -c1-64)
if [[ -x $venv/bin/python && $(cat "$out/REQUIREMENTS" 2>/dev/null) == "$stamp" ]]; then
  exit 0
fi

python=${PYTHON:-python3}
# Django 5.2 and DOT 3.x need Python 3.10 or later: fail here, not at import.
"$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' ||
  { echo "dot: $("$python" --version 2>&1) is older than 3.10" >&2; exit 1; }

# The stamp is written last: an interrupted build is made anew next time.
rm -rf "$venv" "$out/REQUIREMENTS"
mkdir -p "$out"
"$python" -m venv "$venv"
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1 PIP_NO_CACHE_DIR=1
"$venv/bin/python" -m pip install --quiet --only-binary=:all: -r "$requirements"
echo "$stamp" >"$out/REQUIREMENTS"
