# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The one ACL/order model (_argus.acl) that argus_pap's planner and the hierarchy lint both use."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import lint as _argus_lint
from ansible_collections.gridsec.ops.plugins.module_utils._argus import pap_plan as _argus_pap_plan
from ansible_collections.gridsec.ops.plugins.module_utils._argus import pdp as _argus_pdp
from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import (
    PERMISSIONS,
    AclPlanError,
    ace_from_key,
    effective_order,
    expand_permissions,
    remote_after_default,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import AcePrincipal


def test_planner_and_lint_share_one_model():
    assert _argus_pap_plan.effective_order is effective_order
    assert _argus_pap_plan.ace_from_key is ace_from_key
    assert _argus_pdp.effective_order is effective_order
    assert _argus_lint.ace_from_key is ace_from_key


def test_order_default_first_unless_placed_then_the_rest():
    assert effective_order([], ["default", "central"]) == ["default", "central"]
    assert effective_order(["central", "default"], ["default", "central", "new"]) == ["central", "default", "new"]
    assert effective_order(["central", "central"], ["default", "central"]) == ["default", "central"]
    assert remote_after_default(["default", "central"], {"central": True}) == ["central"]
    assert remote_after_default(["central", "default"], {"central": True}) == []


def test_task_permissions_are_strict_pap_permissions_are_read_as_printed():
    assert expand_permissions(["all"]) == set(PERMISSIONS)
    with pytest.raises(AclPlanError):
        expand_permissions(["POLICY_READ_LOCAL|POLICY_WRITE"])
    assert expand_permissions(["POLICY_READ_LOCAL|POLICY_WRITE", "NEW_PERMISSION"], strict=False) == \
        {"POLICY_READ_LOCAL", "POLICY_WRITE", "NEW_PERMISSION"}


@pytest.mark.parametrize("principal", [AcePrincipal(type="x509", name="/O=PAP/OU=Internal/CN=Any authenticated user"),
                                       AcePrincipal(type="anyone", name="ANYONE"), "ANYONE"])
def test_anyone_in_every_spelling_is_one_principal_for_planner_and_lint(principal):
    assert ace_from_key(principal, ["ALL"]).kind == "anyone"
    findings = _argus_lint.lint_acl({principal: ["ALL"]})
    assert [f["check"] for f in findings] == ["open_acl"]
