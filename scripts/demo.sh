#!/usr/bin/env bash
# Body of `make demo`: set up the virtualenv and the collection path, then run scripts/demo.py, which
# starts the embedded lab (Argus PAP hierarchy, lab PanDA with its own tables, lab SMTP server), stages an
# incident and runs playbooks/demo.yml (gridsec.ops.incident, propagation, the same incident again, unban).
# Needs only Python: no ../shared, and PostgreSQL is found or started (gridsec_lab.pg.admin_dsn).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
VENV="${VENV:-$ROOT/.venv}"
"$ROOT/scripts/setup-venv.sh" "$VENV" 3.11 requirements/dev-py311.txt --or-python3
# The collection is used in place: .tmp/collections/ansible_collections/gridsec/ops -> this checkout.
mkdir -p "$ROOT/.tmp/collections/ansible_collections/gridsec"
ln -sfn "$ROOT" "$ROOT/.tmp/collections/ansible_collections/gridsec/ops"
exec "$VENV/bin/python" "$ROOT/scripts/demo.py"
