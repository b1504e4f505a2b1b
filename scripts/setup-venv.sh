#!/usr/bin/env bash
# Create (or reuse) a virtualenv with the pinned development requirements.
#
#   scripts/setup-venv.sh VENV_DIR PYTHON_VERSION REQUIREMENTS_FILE [--or-python3]
#
# The venv is reused as is when its stamp (hash of the requirements file + interpreter version)
# matches; otherwise the pinned requirements are (re)installed into it. An existing venv is never
# deleted: other people may be using it. If it was built with another Python version we stop
# and say so instead.
set -euo pipefail

venv="${1:?venv dir}"; want="${2:?python version}"; requirements="${3:?requirements file}"
fallback="${4:-}"
here="$(cd "$(dirname "$0")" && pwd)"
stamp="$venv/.gridsec-requirements.stamp"

expected_stamp() {
    local version
    version="$("$venv/bin/python" -c 'import sys; print(sys.version.split()[0])')"
    echo "python=$version requirements=$(sha256sum "$requirements" | cut -d' ' -f1)"
}

if [ ! -x "$venv/bin/python" ]; then
    python="$("$here/find-python.sh" "$want" $fallback)"
    echo "setup-venv: creating $venv with $python"
    "$python" -m venv "$venv"
fi

have="$("$venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
if [ "$have" != "$want" ] && [ "$fallback" != "--or-python3" ]; then
    echo "setup-venv: $venv uses Python $have, expected $want; remove it or choose another directory" >&2
    exit 1
fi

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(expected_stamp)" ]; then
    echo "setup-venv: $venv is up to date ($requirements)"
    exit 0
fi

echo "setup-venv: installing $requirements into $venv"
start=$SECONDS
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$requirements"
expected_stamp > "$stamp"
echo "setup-venv: $venv ready in $((SECONDS - start)) s"
