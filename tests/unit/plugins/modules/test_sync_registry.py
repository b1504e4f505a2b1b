# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""suspension_list_sync drives every target through the registry (_sync/registry.py): a target type registered
here, and nowhere in the module, gets its options, validation, build, sync, audit, canary default and close
through the generic path; entries of a kind it does not enforce are reported under ``not_applicable``."""
import json
import os
import subprocess
import sys

import pytest
import yaml

from ansible.module_utils.testing import patch_module_args

from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN
from ansible_collections.gridsec.ops.plugins.module_utils._sync import registry
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncTarget, TargetResult
from ansible_collections.gridsec.ops.plugins.modules import suspension_list_sync

DN_1 = "/DC=org/DC=example/OU=Users/CN=Alice Bad"
DN_2 = "/DC=org/DC=example/OU=Users/CN=Bob Bad"
FQAN = "/dteam/Role=compromised"


class RecordingTarget(SyncTarget):
    """A target type that only records what the sync asks of it."""

    TYPE = "recording"
    KINDS = frozenset([DN])
    CANARY_DEFAULT = "keep"
    OPTIONS = {"recording_label": dict(type="str", default="plain")}
    calls = []

    @classmethod
    def spec_problems(cls, spec):
        cls.calls.append(("spec_problems", spec["name"]))
        if spec["recording_label"] == "bad":
            return ["target %s: recording_label must not be 'bad'" % spec["name"]]
        return []

    def __init__(self, spec, ctx):
        self.calls.append(("build", spec["name"], spec["recording_label"], ctx.sync_name, ctx.check_mode))
        self.result = TargetResult(spec["name"], self.TYPE)

    def sync(self, wanted, check_mode):
        self.calls.append(("sync", sorted(e.value for e in wanted.values()), check_mode))
        data = self.result.data
        data["added"] = [e.to_dict() for e in wanted.values()]
        data.update(changed=bool(wanted), added_count=len(wanted), after_count=len(wanted))
        return data

    def audit_records(self, data, check_mode):  # pylint: disable=unused-argument
        self.calls.append(("audit", len(data["added"])))
        return [("record", item, {"result": "recorded"}) for item in data["added"]]

    def close(self):
        self.calls.append(("close",))


@pytest.fixture
def recording(monkeypatch):
    RecordingTarget.calls = []
    monkeypatch.setitem(registry.TARGET_TYPES, RecordingTarget.TYPE, RecordingTarget)
    return RecordingTarget.calls


def run_sync(capsys, tmp_path, targets, check_mode=False):
    source = tmp_path / "list.txt"
    source.write_text("%s\n%s\nfqan:%s\n" % (DN_1, DN_2, FQAN))
    args = {"name": "reg", "sources": [{"name": "s", "type": "plain", "path": str(source)}], "targets": targets,
            "state_dir": str(tmp_path / "state"), "_ansible_check_mode": check_mode}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            suspension_list_sync.main()
    return json.loads(capsys.readouterr().out)


def test_a_registered_type_is_validated_built_synced_audited_and_closed_generically(recording, capsys, tmp_path):
    result = run_sync(capsys, tmp_path, [{"name": "r1", "type": "recording"}])
    assert not result.get("failed"), result
    # its option comes from OPTIONS (default applied by the argument spec), the DN entries only reach it
    assert recording == [("spec_problems", "r1"), ("build", "r1", "plain", "reg", False),
                         ("sync", [DN_1, DN_2], False), ("audit", 2), ("close",)]
    target = result["targets"][0]
    assert target["type"] == "recording" and target["changed"] and result["changed"]
    # the FQAN is no kind this target enforces: reported for it, not dropped silently
    assert target["not_applicable"]["count"] == 1
    assert [(e["kind"], e["value"]) for e in target["not_applicable"]["entries"]] == [("fqan", FQAN)]
    assert target["canary"]["mode"] == "keep"  # the type's CANARY_DEFAULT
    with open(result["audit_log"], encoding="utf-8") as handle:
        lines = [json.loads(line) for line in handle]
    recorded = [(line["target"], line["action"], line["entry"]["value"]) for line in lines
                if line["action"] == "record"]
    assert recorded == [("recording:r1", "record", DN_1), ("recording:r1", "record", DN_2)]


def test_spec_problems_of_a_registered_type_fail_the_task_before_any_target_is_built(recording, capsys, tmp_path):
    result = run_sync(capsys, tmp_path, [{"name": "ok", "type": "recording"},
                                         {"name": "r2", "type": "recording", "recording_label": "bad"}])
    assert result["failed"] and "target r2: recording_label must not be 'bad'" in result["msg"]
    assert result["error"]["msg"] == result["msg"]
    assert [call for call in recording if call[0] != "spec_problems"] == []


def test_a_gridsec_error_of_the_sync_has_the_structured_failure_keys(capsys, tmp_path):
    """The shared failure boundary: a ``GridsecError`` becomes ``error`` (its class and kind), like every module."""
    result = run_sync(capsys, tmp_path, [{"name": "f", "type": "file", "path": str(tmp_path / "ban")}])
    assert not result.get("failed"), result
    args = {"name": "reg", "sources": [{"name": "s", "type": "plain", "path": str(tmp_path / "list.txt"),
                                        "cache_max_age": "soon"}],
            "targets": [{"name": "f", "type": "file", "path": str(tmp_path / "ban")}], "state_dir": str(tmp_path)}
    with patch_module_args(args):
        with pytest.raises(SystemExit):
            suspension_list_sync.main()
    result = json.loads(capsys.readouterr().out)
    assert result["failed"] and result["error"]["type"] == "ConfigError" and result["error"]["kind"] == "config"
    assert result["msg"].startswith("source s: ") and result["changed"] is False and result["targets"] == []


def test_the_targets_options_are_the_common_ones_plus_each_types_and_match_the_documentation():
    spec = registry.target_spec()
    for cls in registry.TARGET_TYPES.values():
        assert set(cls.OPTIONS) <= set(spec)
    assert spec["type"]["choices"] == list(registry.TARGET_TYPES)
    from ansible_collections.gridsec.ops.plugins.doc_fragments._sync_targets import ModuleDocFragment

    doc = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["targets"]["suboptions"]
    assert set(doc) == set(spec)
    assert sorted(doc["type"]["choices"]) == sorted(registry.TARGET_TYPES)


def test_an_option_two_types_declare_differently_is_refused():
    class Other(RecordingTarget):
        TYPE = "other"
        OPTIONS = {"recording_label": dict(type="int")}

    with pytest.raises(ValueError, match="recording_label"):
        registry.target_spec({"recording": RecordingTarget, "other": Other})
    same = type("Same", (RecordingTarget,), {"TYPE": "same"})
    assert registry.target_spec({"recording": RecordingTarget, "same": same})["recording_label"]["default"] == "plain"


def test_status_module_documents_the_targets_of_the_sync():
    """suspension_status takes the sync's targets (registry.target_spec): one doc fragment documents exactly those
    options, and both modules take their documentation from it (one spec, one documentation)."""
    import yaml

    from ansible_collections.gridsec.ops.plugins.doc_fragments._sync_targets import ModuleDocFragment
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.registry import target_spec
    from ansible_collections.gridsec.ops.plugins.modules import suspension_list_sync, suspension_status

    fragment = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]["targets"]["suboptions"]
    assert set(fragment) == set(target_spec())
    for module in (suspension_list_sync, suspension_status):
        doc = yaml.safe_load(module.DOCUMENTATION)
        assert "gridsec.ops._sync_targets" in doc["extends_documentation_fragment"], module.__name__
        assert "targets" not in doc["options"], module.__name__


def test_each_types_spec_is_the_options_of_its_class_and_the_targets_spec_their_union():
    """TARGET_TYPES holds each type's OPTIONS (_sync/specs.py) without importing its class: the class it loads has
    that TYPE and those OPTIONS, and the spec assembled from the table is the one assembled from the classes, so
    the spec the module builds and the classes that read it cannot drift apart."""
    classes = dict((name, registry.load_type(entry)) for name, entry in registry.TARGET_TYPES.items())
    for name, cls in classes.items():
        assert cls.TYPE == name
        assert cls.OPTIONS == registry.TARGET_TYPES[name].OPTIONS, name
    assert registry.target_spec() == registry.target_spec(classes)
    assert registry.target_class({"type": "file"}) is classes["file"]


def test_the_light_specs_equal_those_of_the_modules_they_stand_in_for():
    """specs.py holds a copy where the original lives beside heavy imports (_iam/account.py: the IAM client);
    equal values keep the sync's options those of the IAM modules. The Argus options have one home for every module
    (_argus/specs.py)."""
    from ansible_collections.gridsec.ops.plugins.module_utils._argus import module as argus_module
    from ansible_collections.gridsec.ops.plugins.module_utils._argus import specs as argus_specs
    from ansible_collections.gridsec.ops.plugins.module_utils._iam.account import DEFAULT_LABEL
    from ansible_collections.gridsec.ops.plugins.module_utils._panda import module as panda_module
    from ansible_collections.gridsec.ops.plugins.module_utils._panda import specs as panda_specs
    from ansible_collections.gridsec.ops.plugins.module_utils._sync import resolve_iam, specs

    assert argus_module.ARGUS_SPEC is argus_specs.ARGUS_SPEC
    assert specs.IAM_DEFAULT_LABEL == DEFAULT_LABEL
    assert panda_module.PANDA_SPEC is panda_specs.PANDA_SPEC and panda_module.PANDA_DB_SPEC is panda_specs.PANDA_DB_SPEC
    assert resolve_iam.OPTIONS == specs.RESOLVE_OPTIONS
    assert "default" not in specs.PANDA_OPTIONS["db_backend"]  # a panda target overrides db_backend only when set


LAZY = ("_sync.argus", "_sync.panda", "_sync.files", "_sync.htcondor_ce", "_sync.dcache", "_sync.arc_ce",
        "_sync.rucio", "_sync.iam", "_sync.resolve_iam", "_argus.module", "_argus.endpoint", "_panda.module",
        "_panda.db", "_panda.client", "_iam.client", "_rucio.client")


def imported_after(code):
    """The collection's module_utils (short names) a fresh interpreter has imported after ``code``."""
    prefix = "ansible_collections.gridsec.ops.plugins.module_utils."
    script = ("import sys\nfrom ansible_collections.gridsec.ops.plugins.modules import suspension_list_sync as m\n"
              "from ansible_collections.gridsec.ops.plugins.module_utils._sync import registry\n%s\n"
              "print('\\n'.join(sys.modules))\n" % code)
    proc = subprocess.run([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in sys.path if p)), check=True)
    return set(name[len(prefix):] for name in proc.stdout.split() if name.startswith(prefix))


def test_the_module_builds_its_spec_without_importing_the_target_implementations():
    """Under AnsiballZ every imported module_util is compiled again on every run: the argument spec comes from
    the specs alone, and a configured type imports its own class (and what it needs), not the others'."""
    loaded = imported_after("m.argument_spec()")
    assert "_sync.specs" in loaded and "_sync.registry" in loaded
    assert not loaded & set(LAZY), sorted(loaded & set(LAZY))
    loaded = imported_after("registry.target_class({'type': 'htcondor_ce'})")
    assert "_sync.htcondor_ce" in loaded
    assert not loaded & (set(LAZY) - {"_sync.htcondor_ce"}), sorted(loaded & set(LAZY))


def test_every_loader_is_a_plain_import_that_ansibles_module_utils_finder_sees():
    """AnsiballZ packs the module_utils its finder sees in import statements (at any depth); a name computed at run
    time (importlib) would be missing from the payload on the managed node. Each loader imports its class by a
    literal ``from ... import``, and the class it returns is the one that import names."""
    import ast
    import inspect

    tree = ast.parse(inspect.getsource(registry))
    assert "importlib" not in inspect.getsource(registry)
    functions = dict((node.name, node) for node in tree.body if isinstance(node, ast.FunctionDef))
    for name, entry in registry.TARGET_TYPES.items():
        loader = functions[entry.load.__name__]
        imports = [node for node in ast.walk(loader) if isinstance(node, ast.ImportFrom)]
        assert len(imports) == 1, name
        cls = entry.load()
        assert imports[0].module == cls.__module__ and [alias.name for alias in imports[0].names] == [cls.__name__]
