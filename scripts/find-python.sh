#!/usr/bin/env bash
# Print the path of a working Python interpreter of the requested minor version.
#
#   scripts/find-python.sh 3.12          -> /path/to/python3.12, or exit 1
#   scripts/find-python.sh 3.11 --or-python3  -> falls back to `python3` if it is >= 3.11
#
# Why not just `command -v python3.12`: with pyenv, PATH holds a shim for every installed
# version, but a shim only works for the versions selected as "global"/"local"; the others
# print an error. So each candidate is actually run, and pyenv's versions directory is
# searched as a last resort (its root is asked from pyenv, never hard-coded).
set -euo pipefail

want="${1:?usage: find-python.sh MAJOR.MINOR [--or-python3]}"
fallback="${2:-}"

works() {  # works INTERPRETER VERSION -> 0 if INTERPRETER runs and is Python VERSION
    local out
    out="$("$1" -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null)" || return 1
    [ "$out" = "$2" ]
}

resolve() {  # print the real executable behind a shim or symlink
    "$1" -c 'import sys; print(sys.executable)'
}

# 1. every pythonX.Y on PATH, in PATH order
while IFS= read -r candidate; do
    if works "$candidate" "$want"; then resolve "$candidate"; exit 0; fi
done < <(type -ap "python$want" 2>/dev/null || true)

# 2. pyenv-installed versions that are not selected (their shims refuse to run)
if command -v pyenv >/dev/null 2>&1; then
    root="$(pyenv root)"
    for candidate in "$root"/versions/"$want"*/bin/"python$want"; do
        if [ -x "$candidate" ] && works "$candidate" "$want"; then echo "$candidate"; exit 0; fi
    done
fi

# 3. optional fallback: plain python3, if it is at least the requested version
if [ "$fallback" = "--or-python3" ] && command -v python3 >/dev/null 2>&1; then
    if python3 -c "import sys; sys.exit(0 if sys.version_info[:2] >= tuple(map(int, '$want'.split('.'))) else 1)" 2>/dev/null; then
        echo "find-python: no python$want found, falling back to python3" >&2
        resolve python3; exit 0
    fi
fi

echo "find-python: no working python$want found on PATH or under pyenv" >&2
exit 1
