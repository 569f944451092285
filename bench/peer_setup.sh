#!/bin/sh
# Makes .bench-peer/, the virtualenv bench/peer.py runs django-helpdesk in: apart from the
# project's .venv, so django-helpdesk and Django never become the project's dependencies.
#
#     bench/peer_setup.sh                 # then: .venv/bin/python bench/peer.py
#
# PYTHON chooses the interpreter (default python3; the benchmark was run on 3.11).
# Running it again installs again only when bench/peer-requirements.txt changed.
set -eu
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
VENV=.bench-peer
REQUIREMENTS=bench/peer-requirements.txt

if [ -f "$VENV/.installed" ] && cmp -s "$REQUIREMENTS" "$VENV/.installed"; then
    echo "$VENV is up to date"
    exit 0
fi
test -x "$VENV/bin/python" || "$PYTHON" -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip==26.3
"$VENV/bin/pip" install --quiet -r "$REQUIREMENTS"
cp "$REQUIREMENTS" "$VENV/.installed"
"$VENV/bin/python" -c "import django, importlib.metadata as m; print('$VENV: django-helpdesk', m.version('django-helpdesk'), '/ Django', django.get_version())"
