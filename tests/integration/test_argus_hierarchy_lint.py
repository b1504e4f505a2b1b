# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration test of argus_hierarchy_lint on a lab hierarchy with the known misconfigurations (the lab of
test_argus_canary.py: a relay with a private upstream, a site with the upstream after default and a local permit,
an open ACL with a disabled upstream, a site below the private relay)."""
import pytest
from test_argus_canary import SALT, canary, conn, misconfigured_lab, run_playbook, utc_today  # noqa: F401

pytestmark = pytest.mark.slow


def test_lint_reports_each_misconfiguration(misconfigured_lab, tmp_path):  # noqa: F811
    lab = misconfigured_lab
    conns = dict((name, conn(lab, lab.paps[name], "admin")) for name in lab.paps)
    run_playbook("lint_hierarchy.yml", {"conns": conns, "canary_dn": canary(SALT, utc_today())}, tmp_path)


def test_lint_with_a_read_only_credential_and_no_acl_access(misconfigured_lab, tmp_path):  # noqa: F811
    """The 'nobody' credential may do nothing: the lint fails naming the PAP and the operation."""
    lab = misconfigured_lab
    run_playbook("lint_denied.yml", {"conn": conn(lab, lab.paps["site_ok"], "nobody"),
                                     "reader": conn(lab, lab.paps["site_ok"], "reader")}, tmp_path)
