# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Issue 14, items 15 and 20: what every module documents about its failures and its Python libraries.

RETURN cannot use doc fragments, so the ``error`` entry is repeated in every module: it must say the same
thing everywhere (the shape ``StructuredModule.fail_json`` / ``GridsecError.to_dict()`` returns). The
``requirements`` list names the libraries a module imports, so that ``ansible-doc`` shows them.
"""
import ast
import os

import pytest
import yaml

MODULES_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "plugins", "modules")
MODULES = sorted(name[:-3] for name in os.listdir(MODULES_DIR) if name.endswith(".py") and name != "__init__.py")
ARGUS = ("argus_policy", "argus_policy_info", "argus_pap", "argus_canary", "argus_hierarchy_lint")
LIBRARIES = {name: ("lxml",) for name in ARGUS}
LIBRARIES.update(suspension_list_sync=("lxml", "PyYAML", "psycopg", "oracledb"),
                 panda_user_ban=("psycopg", "oracledb"), panda_job_kill=("psycopg", "oracledb"),
                 suspension_list_publish=("cryptography", "PyYAML"))
ERROR_KEYS = ("type", "kind", "msg", "server", "operation", "details")


def _docs(name):
    with open(os.path.join(MODULES_DIR, name + ".py"), encoding="utf-8") as handle:
        tree = ast.parse(handle.read())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) in ("DOCUMENTATION", "RETURN"):
            found[node.targets[0].id] = yaml.safe_load(node.value.value)
    return found["DOCUMENTATION"], found["RETURN"] or {}


def test_every_module_is_checked():
    assert len(MODULES) == 16 and set(ARGUS) <= set(MODULES)
    assert {"iam_account", "iam_account_info", "rucio_account", "suspension_list_publish", "suspension_status"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_error_return_key_is_documented_alike(name):
    _doc, ret = _docs(name)
    error = ret.get("error")
    assert error, "%s: RETURN has no error entry" % name
    assert error["returned"] == "failed" and error["type"] == "dict"
    assert error == _docs("argus_policy")[1]["error"], "%s: the error entry differs from argus_policy's" % name
    text = " ".join(error["description"])
    assert all("C(%s)" % key in text for key in ERROR_KEYS)
    assert sorted(error["sample"]) == sorted(ERROR_KEYS)


@pytest.mark.parametrize("name", MODULES)
def test_requirements_name_the_libraries_imported(name):
    doc, _ret = _docs(name)
    requirements = " ".join(doc.get("requirements") or [])
    assert requirements, "%s documents no requirements" % name
    for library in LIBRARIES.get(name, ()):
        assert "C(%s)" % library in requirements, "%s: %s missing from requirements" % (name, library)
