#!/usr/bin/env bash
# The body of `make test`: set everything up, then run every test tier in order.
#
#   scripts/run-tests.sh            # all steps
#   scripts/run-tests.sh pytest lint    # only the named steps (set-up always runs)
#
# Steps, in order (see docs/testing.md):
#   pytest        pytest over tests/unit tests/lab tests/integration (Python 3.11 venv), pytest-xdist with
#                 PYTEST_WORKERS processes (default 2; PYTEST_WORKERS=1: serial)
#   core219       ansible-test sanity (all tests) + units, ansible-core 2.19 / Python 3.11,
#                 and the compile/import sanity tests on Python 3.9 (oldest managed-node Python)
#   core221       the same with ansible-core 2.21 / Python 3.12
#   lint          ansible-lint --offline --profile production
#   molecule      molecule test --all: the role scenarios under extensions/molecule (localhost, lab PAPs)
#   docs          antsibull-docs lint-collection-docs (plugins + docs/docsite guides), antsibull-changelog lint,
#                 galaxy-importer on the built tarball (own venv under .tmp)
#   ansible-doc   ansible-doc renders every module and filter; action groups match module files
#
# Stops at the first failing step, naming it, and always prints a summary with timings.
# Nothing is written outside the checkout: virtualenvs are .venv and .venv-py312, everything else
# (scratch HOME for ansible-test, built artifact, interpreter links) lives under .tmp/.
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

VENV="${VENV:-$ROOT/.venv}"                  # Python 3.11, ansible-core 2.19
VENV312="${VENV312:-$ROOT/.venv-py312}"      # Python 3.12, ansible-core 2.21
TMP="$ROOT/.tmp"
SCRATCH_HOME="$TMP/home"                     # HOME for ansible-test/ansible-lint/antsibull: keeps caches here
INTERPRETERS="$TMP/bin"                      # python3.X links that really run (pyenv shims may not)
BUILD_DIR="$TMP/build"
TEST_TREE="$TMP/ansible-test"                # the installed artifact: $TEST_TREE/ansible_collections/gridsec/ops
ARTIFACT_ROOT="$TEST_TREE/ansible_collections/gridsec/ops"
COLLECTIONS_LINK_PARENT="$TMP/collections"   # .tmp/collections/ansible_collections/gridsec/ops -> checkout
PYTEST_DIRS=(tests/unit tests/lab tests/integration)
ALL_STEPS=(pytest core219 core221 lint molecule docs ansible-doc)

# ---------------------------------------------------------------- bookkeeping
SUMMARY=()
CURRENT_STEP=""
FAILED_STEPS=()
BESIDE_PID=""
RUN_START=$SECONDS

print_summary() {
    local rc=$?
    if [ -n "$BESIDE_PID" ]; then  # interrupted while the steps beside pytest still run: stop them
        kill -- -"$BESIDE_PID" 2>/dev/null || kill "$BESIDE_PID" 2>/dev/null || true
    fi
    echo
    echo "==================== make test summary ===================="
    local line
    for line in "${SUMMARY[@]}"; do echo "  $line"; done
    [ -z "$CURRENT_STEP" ] || FAILED_STEPS+=("$CURRENT_STEP")
    for line in "${FAILED_STEPS[@]}"; do
        echo "  FAILED  $line (exit $rc): see the output above this summary"
    done
    echo "  total   $((SECONDS - RUN_START)) s"
    echo "==========================================================="
    if [ "${#FAILED_STEPS[@]}" -gt 0 ]; then
        local joined; joined="$(printf "', '%s" "${FAILED_STEPS[@]}")"
        echo "make test: FAILED in step '${joined:4}'"
    elif [ "${#SELECTED[@]}" -gt 0 ]; then
        echo "make test: selected steps passed (${SELECTED[*]}); not a full run"
    else
        echo "make test: all steps passed"
    fi
}

# run_step NAME COMMAND...: run one step with a banner and record its duration.
run_step() {
    local name="$1"; shift
    CURRENT_STEP="$name"
    echo
    echo "==================== $name ===================="
    local start=$SECONDS
    "$@"
    SUMMARY+=("ok      $name ($((SECONDS - start)) s)")
    CURRENT_STEP=""
}

fail() { echo "ERROR: $*" >&2; return 1; }

# first_line COMMAND...: first line of the command's output. (Piping into `head -1` makes
# ansible 2.21 die with BrokenPipeError when head exits first.)
first_line() { local out; out="$("$@")"; printf '%s\n' "${out%%$'\n'*}"; }

wanted() {  # wanted STEP: is STEP selected on the command line (or are all steps selected)?
    [ "${#SELECTED[@]}" -eq 0 ] && return 0
    local s; for s in "${SELECTED[@]}"; do [ "$s" = "$1" ] && return 0; done
    return 1
}

# ---------------------------------------------------------------- set-up
setup_venvs() {
    "$ROOT/scripts/setup-venv.sh" "$VENV" 3.11 requirements/dev-py311.txt --or-python3
    if wanted core221; then
        "$ROOT/scripts/setup-venv.sh" "$VENV312" 3.12 requirements/dev-py312.txt
    fi
    local venv
    for venv in "$VENV" "$VENV312"; do
        [ -x "$venv/bin/ansible" ] || continue
        echo "$(basename "$venv"): $("$venv/bin/python" --version), $(first_line "$venv/bin/ansible" --version)"
    done
}

setup_links() {
    # The collection importable as gridsec.ops for pytest, ansible-playbook and ansible-lint.
    local link="$COLLECTIONS_LINK_PARENT/ansible_collections/gridsec/ops"
    mkdir -p "$(dirname "$link")"
    ln -sfn "$ROOT" "$link"   # always: a copied .tmp could still point at another checkout
    # Interpreters ansible-test looks up on PATH by name (python3.9 for the target-only sanity
    # tests, python3.11/3.12 for the controller). Links to the real binaries, not to pyenv shims.
    mkdir -p "$INTERPRETERS" "$SCRATCH_HOME"
    local v py
    for v in 3.9 3.11 3.12; do
        if py="$("$ROOT/scripts/find-python.sh" "$v" 2>/dev/null)"; then
            ln -sfn "$py" "$INTERPRETERS/python$v"
        fi
    done
}

setup_scratch_home() {
    # ansible-test downloads get-pip from a host CI cannot reach; it uses a cached copy when one
    # exists, so put our stand-in there for the pip version each installed ansible-test pins.
    local cache="$SCRATCH_HOME/.ansible/test/cache" venv pip_version
    mkdir -p "$cache"
    for venv in "$VENV" "$VENV312"; do
        [ -d "$venv" ] || continue
        pip_version="$(grep -m1 -hoP "pip='\K[0-9.]+" "$venv"/lib/python3*/site-packages/ansible_test/_internal/python_requirements.py || true)"
        [ -n "$pip_version" ] || fail "cannot find the pip version pinned by ansible-test in $venv"
        cp "$ROOT/scripts/get-pip-standin.py" "$cache/get_pip_${pip_version//./_}.py"
    done
}

build_artifact() {
    # Build exactly what would be published (build_ignore applies) and install it where
    # ansible-test wants it: a directory .../ansible_collections/gridsec/ops.
    rm -rf "$BUILD_DIR"
    mkdir -p "$BUILD_DIR" "$TEST_TREE"
    HOME="$SCRATCH_HOME" "$VENV/bin/ansible-galaxy" collection build --force --output-path "$BUILD_DIR" "$ROOT" >/dev/null
    local tarball
    tarball="$(ls "$BUILD_DIR"/gridsec-ops-*.tar.gz)"
    rm -rf "$ARTIFACT_ROOT"
    HOME="$SCRATCH_HOME" ANSIBLE_COLLECTIONS_PATH="$TEST_TREE" "$VENV/bin/ansible-galaxy" collection install \
        --force --no-deps -p "$TEST_TREE" "$tarball" >/dev/null
    [ -f "$ARTIFACT_ROOT/MANIFEST.json" ] || fail "collection install did not produce $ARTIFACT_ROOT"
    # ansible-test lists its targets with git when it finds a repository at or above the collection.
    # Above this tree is our checkout, whose .gitignore hides .tmp/: every target would be skipped.
    # An (empty) repository of its own makes ansible-test list the installed files instead.
    git -C "$ARTIFACT_ROOT" init -q
    printf 'tests/output/\n' > "$ARTIFACT_ROOT/.gitignore"
    echo "built $(basename "$tarball") ($(du -k "$tarball" | cut -f1) KiB), installed into $ARTIFACT_ROOT"
}

setup_chromium() {
    # tests/integration/test_report_html.py renders the demo's HTML report in headless Chromium (Debian package
    # `chromium`). Installed here when it is missing and we are root; otherwise that test fails with this advice
    # when CI is set, and is skipped with it elsewhere.
    if command -v chromium >/dev/null 2>&1; then
        echo "chromium: $(first_line chromium --version 2>/dev/null)"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "chromium is not installed and cannot be installed here (needs root and apt-get):" \
            "install the Debian package 'chromium' (apt-get install --no-install-recommends chromium)," \
            "or test_report_html.py fails in CI and is skipped elsewhere"
        return 0
    fi
    echo "chromium is not installed: apt-get install --no-install-recommends chromium"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium
    command -v chromium >/dev/null 2>&1 || fail "apt-get install chromium did not provide a chromium binary"
    echo "chromium: $(first_line chromium --version 2>/dev/null)"
}

setup_promtool() {
    # tests/integration/test_suspension_status.py checks the Prometheus metrics of suspension_status with
    # `promtool check metrics` (Debian package `prometheus`). Installed here when it is missing and we are root;
    # otherwise that test fails with this advice (never skipped).
    if command -v promtool >/dev/null 2>&1; then
        echo "promtool: $(first_line promtool --version 2>&1)"
        return 0
    fi
    if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
        echo "promtool is not installed and cannot be installed here (needs root and apt-get):" \
            "install the Debian package 'prometheus' (apt-get install --no-install-recommends prometheus)," \
            "or test_suspension_status.py fails"
        return 0
    fi
    echo "promtool is not installed: apt-get install --no-install-recommends prometheus"
    DEBIAN_FRONTEND=noninteractive apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends prometheus
    command -v promtool >/dev/null 2>&1 || fail "apt-get install prometheus did not provide a promtool binary"
    echo "promtool: $(first_line promtool --version 2>&1)"
}

# ---------------------------------------------------------------- steps
step_pytest() {
    local dirs=() d
    for d in "${PYTEST_DIRS[@]}"; do [ -d "$d" ] && dirs+=("$d"); done
    [ "${#dirs[@]}" -gt 0 ] || fail "none of ${PYTEST_DIRS[*]} exists"
    local rc=0 parallel=()
    # pytest-xdist, PYTEST_WORKERS processes (default 2, one per core: most tests wait on one ansible-playbook
    # subprocess or lab server at a time, so one process leaves a core idle). --dist loadfile keeps each test
    # file in one worker, so a file's module fixtures are set up once; every worker has its own session, so it
    # starts its own lab servers (ephemeral ports, directories under its own basetemp, uniquely named
    # databases). --no-loadscope-reorder: files in the order tests/conftest.py sorts them (slow files first).
    # PYTEST_WORKERS=1 runs serially in one process, in collection order (for hunting a failure).
    if [ "${PYTEST_WORKERS:-2}" != 1 ]; then
        parallel=(-n "${PYTEST_WORKERS:-2}" --dist loadfile --no-loadscope-reorder)
    fi
    # ANSIBLE_HOME keeps ansible-playbook runs started by the tests out of ~/.ansible.
    PATH="$VENV/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_LINK_PARENT" \
        ANSIBLE_HOME="$SCRATCH_HOME/.ansible" \
        "$VENV/bin/python" -m pytest -p no:cacheprovider "${parallel[@]}" -x --durations=20 ${PYTEST_ARGS:-} \
        "${dirs[@]}" || rc=$?
    if [ "$rc" -eq 5 ]; then fail "pytest collected no tests in ${dirs[*]}"; fi
    return "$rc"
}

# ansible_test VENV ARGS...: ansible-test from that venv, in the installed artifact, scratch HOME.
ansible_test() {
    local venv="$1"; shift
    (cd "$ARTIFACT_ROOT" &&
        HOME="$SCRATCH_HOME" PATH="$INTERPRETERS:$venv/bin:$PATH" \
        "$venv/bin/ansible-test" "$@" --color no)
}

step_ansible_test() {  # step_ansible_test VENV PYTHON_VERSION
    local venv="$1" python="$2" sanity_ok=true
    [ -x "$INTERPRETERS/python3.9" ] || fail "no python3.9 found: cannot check that modules run on Python 3.9"
    # Both sanity runs always happen, so one report shows every sanity problem; units only after.
    echo "--- ansible-test sanity --venv --python $python (all tests)"
    ansible_test "$venv" sanity --venv --python "$python" || sanity_ok=false
    # Modules and module_utils must still run on the managed node's Python 3.9.
    echo "--- ansible-test sanity --venv --python 3.9 (compile, import)"
    ansible_test "$venv" sanity --venv --python 3.9 --test compile --test import || sanity_ok=false
    $sanity_ok || fail "ansible-test sanity failed: see the ERROR lines above"
    echo "--- ansible-test units --venv --python $python"
    if [ -z "$(find "$ARTIFACT_ROOT/tests/unit" -name 'test_*.py' 2>/dev/null)" ]; then
        fail "no unit tests (tests/unit/**/test_*.py) in the built collection"
    fi
    ansible_test "$venv" units --venv --python "$python"
}

step_lint() {
    (cd "$ROOT" &&
        HOME="$SCRATCH_HOME" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_LINK_PARENT" PATH="$VENV/bin:$PATH" \
        "$VENV/bin/ansible-lint" --offline --profile production --nocolor)
}

step_molecule() {
    # Every scenario under extensions/molecule (check, converge, idempotence, verify) on localhost: the role
    # renders into each scenario's ephemeral directory and lab PAPs stand in for the services. Everything
    # molecule and ansible write goes under .tmp/molecule, emptied first.
    local work="$TMP/molecule"
    rm -rf "$work"
    mkdir -p "$work/home"
    (cd "$ROOT" &&
        NO_COLOR=1 HOME="$work/home" ANSIBLE_HOME="$work/ansible" ANSIBLE_COLLECTIONS_PATH="$COLLECTIONS_LINK_PARENT" \
        PATH="$VENV/bin:$PATH" "$VENV/bin/molecule" test --all)
}

step_docs() {
    echo "--- antsibull-docs lint-collection-docs (built collection)"
    (cd "$ARTIFACT_ROOT" &&
        HOME="$SCRATCH_HOME" ANSIBLE_COLLECTIONS_PATH="$TEST_TREE" PATH="$VENV/bin:$PATH" \
        "$VENV/bin/antsibull-docs" lint-collection-docs --plugin-docs --check-extra-docs-refs \
            --validate-collection-refs all .)
    echo "--- antsibull-changelog lint"
    (cd "$ROOT" && HOME="$SCRATCH_HOME" "$VENV/bin/antsibull-changelog" lint)
    step_galaxy_importer
}

step_galaxy_importer() {
    # The check Galaxy runs on upload, on the built tarball. Its own venv under .tmp (pinned in
    # requirements/galaxy-importer.txt) keeps its ansible-core/ansible-lint pins out of the shared .venv.
    local venv="$TMP/venv-galaxy-importer" out="$TMP/galaxy-importer.log"
    echo "--- galaxy-importer (built tarball)"
    "$ROOT/scripts/setup-venv.sh" "$venv" 3.11 "$ROOT/requirements/galaxy-importer.txt" --or-python3
    mkdir -p "$SCRATCH_HOME/galaxy-importer"
    # its ansible-doc and ansible-lint must be the venv's own (found on PATH); nothing needs the network
    if ! (cd "$TMP" && HOME="$SCRATCH_HOME/galaxy-importer" PATH="$venv/bin:$PATH" \
            GALAXY_IMPORTER_CONFIG="$ROOT/scripts/galaxy-importer.cfg" \
            "$venv/bin/python" -m galaxy_importer.main "$(ls "$BUILD_DIR"/gridsec-ops-*.tar.gz)" >"$out" 2>&1); then
        cat "$out"
        fail "galaxy-importer rejected the built collection (log: $out)"
    fi
    # The importer exits 0 after some failures (a linter that did not run, a doc it could not load).
    if grep -E "^(ERROR|WARNING)" "$out" | grep -v "Ignore files skip ansible-test sanity tests" | grep .; then
        fail "galaxy-importer reported problems (log: $out)"
    fi
    tail -1 "$out"
}

module_names() { find "$ROOT/plugins/modules" -maxdepth 1 -name '*.py' ! -name '_*' -printf '%f\n' 2>/dev/null | sed 's/\.py$//' | sort; }

step_ansible_doc() {
    local venv plugin_type name out count=0
    for venv in "$VENV" "$VENV312"; do
        [ -x "$venv/bin/ansible-doc" ] || continue
        echo "--- ansible-doc with $(first_line "$venv/bin/ansible-doc" --version)"
        for name in $(module_names); do
            out="$(ANSIBLE_COLLECTIONS_PATH="$TEST_TREE" HOME="$SCRATCH_HOME" \
                "$venv/bin/ansible-doc" -t module "gridsec.ops.$name" 2>&1)" ||
                { echo "$out"; fail "ansible-doc failed for module gridsec.ops.$name"; }
            # ansible-doc exits 0 with a warning when it cannot load the documentation.
            grep -q "gridsec.ops.$name" <<<"$out" && ! grep -qi "was not found\|error" <<<"$(head -3 <<<"$out")" ||
                { echo "$out"; fail "ansible-doc did not render module gridsec.ops.$name"; }
            echo "rendered module gridsec.ops.$name ($(wc -l <<<"$out") lines)"
            count=$((count + 1))
        done
        for name in $(ANSIBLE_COLLECTIONS_PATH="$TEST_TREE" HOME="$SCRATCH_HOME" \
                "$venv/bin/ansible-doc" -t filter -l gridsec.ops 2>/dev/null | awk '{print $1}'); do
            out="$(ANSIBLE_COLLECTIONS_PATH="$TEST_TREE" HOME="$SCRATCH_HOME" \
                "$venv/bin/ansible-doc" -t filter "$name" 2>&1)" ||
                { echo "$out"; fail "ansible-doc failed for filter $name"; }
            echo "rendered filter $name ($(wc -l <<<"$out") lines)"
        done
    done
    [ "$count" -gt 0 ] || fail "no modules found in plugins/modules"
    echo "--- action groups in meta/runtime.yml vs plugins/modules"
    "$VENV/bin/python" "$ROOT/scripts/check-action-groups.py" "$ROOT"
}

# ---------------------------------------------------------------- main
SELECTED=("$@")
for s in "${SELECTED[@]}"; do
    case " ${ALL_STEPS[*]} " in *" $s "*) ;; *) echo "unknown step '$s' (steps: ${ALL_STEPS[*]})" >&2; exit 2;; esac
done
trap print_summary EXIT

setup_links_and_home() { setup_links; setup_scratch_home; }

run_step "set-up: virtualenvs" setup_venvs
run_step "set-up: links, scratch HOME" setup_links_and_home
run_step "set-up: build + install artifact" build_artifact
if wanted pytest; then run_step "set-up: chromium (HTML report test)" setup_chromium; fi
if wanted pytest; then run_step "set-up: promtool (suspension_status metrics test)" setup_promtool; fi

# The steps after pytest, in order, as "step|command|title" (step: the name on the command line).
OTHER_STEPS=(
    "core219|step_ansible_test $VENV 3.11|ansible-test, ansible-core 2.19 / Python 3.11 (+3.9)"
    "core221|step_ansible_test $VENV312 3.12|ansible-test, ansible-core 2.21 / Python 3.12 (+3.9)"
    "lint|step_lint|ansible-lint (production profile)"
    "molecule|step_molecule|molecule (role scenarios)"
    "docs|step_docs|antsibull-docs + antsibull-changelog"
    "ansible-doc|step_ansible_doc|ansible-doc + action groups"
)

run_other_steps() {  # the selected steps of OTHER_STEPS, in order; stops at the first failure
    local item name cmd title
    for item in "${OTHER_STEPS[@]}"; do
        IFS="|" read -r name cmd title <<<"$item"
        # word splitting of $cmd is wanted: "function arg arg" (paths under the checkout have no spaces)
        # shellcheck disable=SC2086
        if wanted "$name"; then run_step "$title" $cmd; fi
    done
}

# Beside pytest: pytest is one process that mostly waits on the lab servers and ansible-playbook runs it starts,
# so the other steps (ansible-test, lint, molecule, docs) run at the same time in a background job, with their
# output in a log printed once pytest is done. Both lines always finish; every failure is reported.
# MAKE_TEST_SERIAL=1 runs them one after the other (easier to read when hunting a failure).
BESIDE_LOG="$TMP/logs/beside-pytest.log"
BESIDE_STATUS="$TMP/logs/beside-pytest.status"

start_beside_pytest() {
    mkdir -p "$TMP/logs"
    rm -f "$BESIDE_STATUS"
    (
        SUMMARY=()
        record_status() {
            local rc=$?
            { for line in "${SUMMARY[@]}"; do echo "ok|$line"; done
              [ -z "$CURRENT_STEP" ] || echo "failed|$CURRENT_STEP"; } > "$BESIDE_STATUS"
            exit "$rc"
        }
        trap record_status EXIT
        run_other_steps
    ) > "$BESIDE_LOG" 2>&1 &
    BESIDE_PID=$!
    echo "steps beside pytest started (pid $BESIDE_PID), output in ${BESIDE_LOG#"$ROOT"/}"
}

finish_beside_pytest() {
    local rc=0 kind line
    wait "$BESIDE_PID" || rc=$?
    BESIDE_PID=""
    echo
    echo "==================== output of the steps beside pytest (${BESIDE_LOG#"$ROOT"/}) ===================="
    cat "$BESIDE_LOG"
    [ -f "$BESIDE_STATUS" ] || { FAILED_STEPS+=("steps beside pytest (exit $rc, no status written)"); return; }
    while IFS="|" read -r kind line; do
        if [ "$kind" = ok ]; then SUMMARY+=("$line  [beside pytest]"); else FAILED_STEPS+=("$line"); fi
    done < "$BESIDE_STATUS"
    if [ "$rc" -ne 0 ] && ! grep -q '^failed|' "$BESIDE_STATUS"; then
        FAILED_STEPS+=("steps beside pytest (exit $rc)")
    fi
}

others_wanted=false
for item in "${OTHER_STEPS[@]}"; do wanted "${item%%|*}" && others_wanted=true; done
if wanted pytest && $others_wanted && [ "${MAKE_TEST_SERIAL:-0}" != 1 ]; then
    start_beside_pytest
    pytest_rc=0
    CURRENT_STEP="pytest (unit, lab, integration)"
    echo
    echo "==================== $CURRENT_STEP ===================="
    pytest_start=$SECONDS
    step_pytest || pytest_rc=$?
    if [ "$pytest_rc" -eq 0 ]; then
        SUMMARY+=("ok      $CURRENT_STEP ($((SECONDS - pytest_start)) s)")
    else
        FAILED_STEPS+=("$CURRENT_STEP")
    fi
    CURRENT_STEP=""
    finish_beside_pytest
    [ "${#FAILED_STEPS[@]}" -eq 0 ] || exit 1
else
    if wanted pytest; then run_step "pytest (unit, lab, integration)" step_pytest; fi
    run_other_steps
fi
exit 0
