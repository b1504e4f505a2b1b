# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Packaging: the artifact users install, and the execution environment built from it.

* ``ansible-galaxy collection build`` of the checkout (into a temporary directory, honouring ``build_ignore``),
  then ``ansible-galaxy collection install`` from the tarball: the installed collection has the modules, the role,
  the playbooks and the docs, and nothing that needs the lab (the demo playbook, the lab docs, the lab itself);
  the installed collection works (``ansible-doc``, ``ansible-playbook --syntax-check`` of every playbook by FQCN);
  the relative links in its Markdown resolve.
* ``meta/execution-environment.yml``: ansible-builder's introspection of the installed collection (the script that
  runs in the image build) yields the Python and system requirements the modules need, and ``ansible-builder
  create`` (offline: it only writes the build context) produces a context from the example EE definition in
  docs/awx.md.
"""
import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

import pytest
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BIN = os.path.dirname(sys.executable)

# what the lab-free artifact must never contain (galaxy.yml build_ignore)
LAB_ONLY = ("playbooks/demo.yml", "docs/lab.md", "docs/lab-panda.md", "docs/panda-real.md", "docs/lab-iam.md",
            "docs/rucio-real.md")
LAB_ONLY_TREES = ("lab/", "bench/", "tests/integration/", "tests/lab/", "scripts/", "extensions/molecule/",
                  "requirements/", ".tmp/", ".venv")
# README.md is also the repository's front page, where these lab docs exist; nothing else may link to them
README_REPO_ONLY_LINKS = {"docs/lab.md", "docs/lab-panda.md", "docs/panda-real.md", "docs/lab-iam.md",
                         "docs/rucio-real.md"}


def _run(cmd, env, cwd=None, timeout=300):
    proc = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, "%s failed (%d):\n%s" % (" ".join(cmd), proc.returncode, proc.stdout[-8000:])
    return proc.stdout


def _module_names():
    return sorted(f[:-3] for f in os.listdir(os.path.join(ROOT, "plugins", "modules"))
                  if f.endswith(".py") and not f.startswith("_"))


def _shipped_playbooks():
    return sorted(f for f in os.listdir(os.path.join(ROOT, "playbooks"))
                  if f.endswith(".yml") and "playbooks/" + f not in LAB_ONLY)


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    """Build the checkout and install the tarball; returns (tarball path, installed collections dir, env)."""
    tmp = tmp_path_factory.mktemp("packaging")
    env = dict(os.environ)
    env.update(HOME=str(tmp / "home"), ANSIBLE_HOME=str(tmp / "home" / ".ansible"), ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp / "ansible-local"), PATH=BIN + os.pathsep + env.get("PATH", ""))
    env.pop("ANSIBLE_COLLECTIONS_PATH", None)
    dist = tmp / "dist"
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "build", "--output-path", str(dist), ROOT], env)
    tarballs = list(dist.glob("gridsec-ops-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    installed = tmp / "collections"
    _run([os.path.join(BIN, "ansible-galaxy"), "collection", "install", "-p", str(installed), str(tarballs[0])], env)
    env["ANSIBLE_COLLECTIONS_PATH"] = str(installed)
    return tarballs[0], installed, env


def _members(tarball):
    with tarfile.open(tarball) as tar:
        return {m.name for m in tar.getmembers()}


@pytest.mark.slow
def test_artifact_contents(artifact):
    tarball, installed, _env = artifact
    members = _members(tarball)
    for module in _module_names():
        assert "plugins/modules/%s.py" % module in members, module
    for playbook in _shipped_playbooks():
        assert "playbooks/" + playbook in members, playbook
    for required in ("roles/argus_server/tasks/main.yml", "roles/argus_server/meta/argument_specs.yml",
                     "meta/runtime.yml", "meta/execution-environment.yml", "meta/ee-requirements.txt",
                     "meta/ee-bindep.txt", "meta/suspension-list.schema.json", "extras/check_argus_canary",
                     "extras/check_suspension_status",
                     "docs/architecture.md", "docs/playbooks.md", "docs/awx.md",
                     "docs/docsite/extra-docs.yml", "docs/docsite/links.yml", "docs/docsite/rst/guide_site.rst",
                     "docs/docsite/rst/guide_relay.rst", "docs/docsite/rst/guide_central.rst", "README.md", "LICENSE"):
        assert required in members, required
    # nothing that needs the lab, which is not shipped
    for name in LAB_ONLY:
        assert name not in members, name
    strays = sorted(m for m in members if m.startswith(LAB_ONLY_TREES) or m.endswith((".pyc", ".tar.gz")))
    assert strays == [], strays
    # shipped playbooks and roles never refer to the lab
    root = installed / "ansible_collections" / "gridsec" / "ops"
    for sub in ("playbooks", "roles"):
        for dirpath, _dirs, files in os.walk(root / sub):
            for name in files:
                text = open(os.path.join(dirpath, name), encoding="utf-8").read()
                assert not re.search(r"gridsec_lab|lab\.json|\.tmp/demo", text), os.path.join(dirpath, name)
    manifest = json.loads((root / "MANIFEST.json").read_text())
    assert manifest["collection_info"]["namespace"] == "gridsec" and manifest["collection_info"]["name"] == "ops"


@pytest.mark.slow
def test_markdown_links_resolve_in_artifact(artifact):
    """A user reading the installed docs never follows a link to a file that was left out of the artifact."""
    _tarball, installed, _env = artifact
    root = installed / "ansible_collections" / "gridsec" / "ops"
    broken = []
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            if not name.endswith(".md"):
                continue
            path = os.path.join(dirpath, name)
            rel = os.path.relpath(path, root)
            text = open(path, encoding="utf-8").read()
            for target in re.findall(r"\]\(([^)\s#]+)(?:#[^)]*)?\)", text):
                if re.match(r"^[a-z]+:", target):
                    continue
                resolved = os.path.normpath(os.path.join(os.path.dirname(rel), target))
                if rel == "README.md" and resolved in README_REPO_ONLY_LINKS:
                    continue
                if not os.path.exists(os.path.join(root, resolved)):
                    broken.append("%s -> %s" % (rel, target))
    assert broken == []


@pytest.mark.slow
def test_installed_collection_works(artifact):
    _tarball, _installed, env = artifact
    out = _run([os.path.join(BIN, "ansible-doc"), "-t", "module", "-l", "gridsec.ops"], env)
    for module in _module_names():
        assert "gridsec.ops.%s" % module in out, module
    out = _run([os.path.join(BIN, "ansible-doc"), "-t", "role", "-l", "gridsec.ops"], env)
    assert "argus_server" in out
    for playbook in _shipped_playbooks():
        _run([os.path.join(BIN, "ansible-playbook"), "-i", "localhost,", "--syntax-check",
              "gridsec.ops." + playbook[:-4]], env)


@pytest.mark.slow
def test_execution_environment_requirements(artifact):
    """ansible-builder reads meta/execution-environment.yml of the installed collection (the same introspection
    script runs inside the image build) and gets the packages the modules import."""
    pytest.importorskip("ansible_builder")
    _tarball, installed, env = artifact
    meta = yaml.safe_load(open(os.path.join(ROOT, "meta", "execution-environment.yml"), encoding="utf-8"))
    assert set(meta["dependencies"]) == {"python", "system"}
    out = _run([os.path.join(BIN, "ansible-builder"), "introspect", str(installed)], env)
    found = yaml.safe_load(out.split("\n", 1)[1] if out.startswith("#") else out)
    python = " ".join(found["python"])
    system = " ".join(found["system"])
    # PyYAML is listed too, but ansible-builder always leaves it out (ansible-core brings it)
    for package in ("lxml", "cryptography", "psycopg[binary]", "oracledb"):
        assert package in python, (package, found["python"])
    for package in ("libxml2", "ca-certificates", "openssh-client"):
        assert package in system, (package, found["system"])
    assert all("from collection gridsec.ops" in line for line in found["python"] + found["system"])


# import name -> distribution in meta/ee-requirements.txt
IMPORT_TO_DIST = {"lxml": "lxml", "cryptography": "cryptography", "yaml": "PyYAML", "psycopg": "psycopg",
                  "oracledb": "oracledb"}


def test_ee_requirements_cover_every_third_party_import():
    """Every third-party package a module or module_util imports is in meta/ee-requirements.txt."""
    listed = set()
    for line in open(os.path.join(ROOT, "meta", "ee-requirements.txt"), encoding="utf-8"):
        line = line.split("#", 1)[0].strip()
        if line:
            listed.add(re.split(r"[\[<>=!~ ;]", line, 1)[0].lower())
    imported = set()
    paths = []
    for sub in ("modules", "module_utils"):
        for folder, _dirs, names in os.walk(os.path.join(ROOT, "plugins", sub)):  # sub-packages (_sync/...) too
            paths.extend(os.path.join(folder, name) for name in names if name.endswith(".py"))
    for path in paths:
        tree = ast.parse(open(path, encoding="utf-8").read())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                imported.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = sorted(m for m in imported
                         if m not in sys.stdlib_module_names and m not in ("ansible", "ansible_collections"))
    assert {"lxml", "psycopg"} <= set(third_party), third_party  # the scan sees the guarded and lazy imports
    assert "requests" not in third_party, "the modules' HTTPS transport is the standard library's"
    unknown = [m for m in third_party if m not in IMPORT_TO_DIST]
    assert unknown == [], "new third-party import(s) %s: add them to meta/ee-requirements.txt and here" % unknown
    missing = sorted({IMPORT_TO_DIST[m] for m in third_party if IMPORT_TO_DIST[m].lower() not in listed})
    assert missing == [], "imported by the modules but not in meta/ee-requirements.txt: %s" % missing


def _example_ee_definition():
    """The EE definition shown in docs/awx.md (the yaml block that starts with '# execution-environment.yml')."""
    text = open(os.path.join(ROOT, "docs", "awx.md"), encoding="utf-8").read()
    for block in re.findall(r"```yaml\n(.*?)```", text, re.S):
        if block.startswith("# execution-environment.yml"):
            return block
    raise AssertionError("docs/awx.md has no '# execution-environment.yml' yaml block")


@pytest.mark.slow
def test_ansible_builder_create_offline(artifact, tmp_path):
    pytest.importorskip("ansible_builder")
    tarball, _installed, env = artifact
    workdir = tmp_path / "ee"
    workdir.mkdir()
    definition = _example_ee_definition()
    version = yaml.safe_load(open(os.path.join(ROOT, "galaxy.yml"), encoding="utf-8"))["version"]
    definition = definition.replace("gridsec-ops-0.1.0.tar.gz", "gridsec-ops-%s.tar.gz" % version)
    (workdir / "execution-environment.yml").write_text(definition)
    shutil.copy(tarball, workdir / tarball.name)
    env = dict(env)
    # offline: create only writes files; make sure nothing could be fetched
    env.update(PIP_NO_INDEX="1", HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    _run([os.path.join(BIN, "ansible-builder"), "create", "-f", "execution-environment.yml", "-c", "context",
          "--output-filename", "Containerfile"], env, cwd=str(workdir))
    context = workdir / "context"
    containerfile = (context / "Containerfile").read_text()
    assert "ansible-galaxy collection install" in containerfile
    assert "introspect" in containerfile  # the collection's meta/execution-environment.yml is read in the build
    assert (context / "_build" / tarball.name).read_bytes() == tarball.read_bytes()
    requirements = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    assert [c["type"] for c in requirements["collections"]] == ["file"]
    assert requirements["collections"][0]["name"].endswith(tarball.name)
    # run the build's introspection step on the installed artifact, as the builder stage of the image does
    _t, installed, _e = artifact
    pip_out = tmp_path / "requirements.txt"
    bindep_out = tmp_path / "bindep.txt"
    _run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect", str(installed),
          "--write-pip", str(pip_out), "--write-bindep", str(bindep_out)], env)
    assert "lxml" in pip_out.read_text() and "cryptography" in pip_out.read_text()
    assert "libxml2" in bindep_out.read_text()


def _readme_contents():
    """The "Contents" section of README.md: the one index of modules, roles and playbooks."""
    readme = open(os.path.join(ROOT, "README.md"), encoding="utf-8").read()
    match = re.search(r"^## Contents\n(.*?)^## ", readme, re.S | re.M)
    assert match, "README.md has no \"## Contents\" section"
    return match.group(1)


def test_docs_cover_every_shipped_playbook_and_module():
    """README "Contents" has a row for every module, role and playbook; docs/playbooks.md documents every playbook."""
    playbooks_doc = open(os.path.join(ROOT, "docs", "playbooks.md"), encoding="utf-8").read()
    missing = [p for p in _shipped_playbooks() if "`gridsec.ops.%s`" % p[:-4] not in playbooks_doc]
    assert missing == [], "not in docs/playbooks.md: %s" % missing
    rows = [line for line in _readme_contents().splitlines() if line.startswith("| ")]
    kinds = {"module": _module_names(), "role": sorted(os.listdir(os.path.join(ROOT, "roles"))),
             "playbook": [p[:-4] for p in _shipped_playbooks()]}
    missing = ["%s %s" % (kind, name) for kind, items in kinds.items() for name in items
               if not any(row.startswith("| %s |" % kind) and "`gridsec.ops.%s`" % name in row for row in rows)]
    assert missing == [], "no row in the README \"Contents\" table: %s" % missing


def test_one_module_index():
    """The module table lives in README "Contents" only: no doc repeats a row per module (link to it instead)."""
    modules = _module_names()
    duplicates = []
    for dirpath, _dirs, files in os.walk(os.path.join(ROOT, "docs")):
        for name in files:
            if name.endswith((".md", ".rst")):
                text = open(os.path.join(dirpath, name), encoding="utf-8").read()
                rows = [m for m in modules if re.search(r"^\| `(gridsec\.ops\.)?%s` \|" % m, text, re.M)]
                if len(rows) > len(modules) // 2:
                    duplicates.append(os.path.relpath(os.path.join(dirpath, name), ROOT))
    assert duplicates == [], "a second module table: %s" % duplicates


# The reference notes the maintainers work from are not part of the collection: shipped text that cites them
# sends a user to a document they cannot open (cite the upstream class and operation, or ship the note as a doc).
UNSHIPPED_NOTES = re.compile(r"\b(ARGUS|PANDA|IAM|ENFORCERS|TOOLING|STYLE)\.md\b")
# What a user of the installed collection reads: module and plugin docs, messages and warnings, the role, the
# playbooks, metadata and docs. tests/ ships only because ansible-test runs the unit tests on the artifact; it is
# read by maintainers, who have the notes.
USER_FACING = ("plugins/", "roles/", "playbooks/", "meta/", "docs/", "extras/", "README.md", "MANIFEST.json")


@pytest.mark.slow
def test_no_citation_of_unshipped_documents(artifact):
    cited = []
    with tarfile.open(artifact[0]) as tar:
        for member in tar.getmembers():
            if member.isfile() and member.name.startswith(USER_FACING):
                text = tar.extractfile(member).read().decode("utf-8", "replace")
                cited += ["%s:%d: %s" % (member.name, n, line.strip()[:120])
                          for n, line in enumerate(text.splitlines(), 1) if UNSHIPPED_NOTES.search(line)]
    assert cited == [], "shipped text cites documents that are not shipped:\n" + "\n".join(cited)

def test_docsite_guides_are_listed_and_their_refs_resolve():
    """Every guide under docs/docsite/rst is in extra-docs.yml (else antsibull-docs neither publishes nor checks it),
    and every :ref: to a docsite label names a label of a guide (antsibull-docs checks only plugin references)."""
    rst_dir = os.path.join(ROOT, "docs", "docsite", "rst")
    extra = yaml.safe_load(open(os.path.join(ROOT, "docs", "docsite", "extra-docs.yml"), encoding="utf-8"))
    listed = {entry for section in extra["sections"] for entry in section["toctree"]}
    guides = {f[:-4] for f in os.listdir(rst_dir) if f.endswith(".rst")}
    assert guides and guides == listed, (guides, listed)
    texts = [open(os.path.join(rst_dir, g + ".rst"), encoding="utf-8").read() for g in sorted(guides)]
    labels = {label for text in texts for label in re.findall(r"^\.\. _([^:]+):$", text, re.M)}
    refs = {ref for text in texts for ref in re.findall(r":ref:`(?:[^`<]*<)?(ansible_collections\.gridsec\.ops\.docsite\.[^>`]+)>?`", text)}
    assert refs - labels == set()
