# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration test of argus_hierarchy_lint on a lab hierarchy with the known misconfigurations (the lab of
test_argus_canary.py: a relay with a private upstream, a site with the upstream after default and a local permit,
an open ACL with a disabled upstream, a site below the private relay)."""
import time

import pytest
from test_argus_canary import (SALT, ban_on, canary, conn, misconfigured_lab, run_playbook,  # noqa: F401
                               utc_today, wait_for_value)

from gridsec_lab.argus import rawclient as rc
from gridsec_lab.argus.lab import ArgusLab

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


# ---- freshness of the remote caches and visible findings (issue 14 items 7 and 11) ----------------------

PULL_LAB = {
    "paps": [
        {"name": "central", "acl": [{"principal": "pap:relay", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "relay", "remotes": [{"alias": "central", "pap": "central", "public": True}],
         "order": ["central", "default"], "acl": [{"principal": "pap:site", "permissions": "POLICY_READ_LOCAL"}]},
        {"name": "site", "remotes": [{"alias": "ngi", "pap": "relay"}], "order": ["ngi", "default"]},
        # a relay the central PAP never granted POLICY_READ_LOCAL: its pulls fail from the start
        {"name": "relay_cut", "remotes": [{"alias": "central", "pap": "central", "public": True}],
         "order": ["central", "default"]},
    ],
}


@pytest.fixture(scope="module")
def pull_lab(tmp_path_factory, argus_pki):
    """Yesterday's canary reached relay and site; then the relay stopped granting the site (its pulls fail) and
    today's canary was published: the relay follows central, the site keeps yesterday's copy."""
    lab = ArgusLab(PULL_LAB, str(tmp_path_factory.mktemp("lint-pull")), poll_interval=0.3, pki=argus_pki)
    lab.start()
    try:
        yesterday, today = canary(SALT, utc_today(-1)), canary(SALT, utc_today())
        ban_on(lab, "central", yesterday)
        wait_for_value(lab, "relay", "central", yesterday)
        wait_for_value(lab, "site", "ngi", yesterday)
        rc.call(lab.paps["relay"].service("AuthorizationManagementService"), "removeACE",
                [("context", "global-context"), ("principal", {"type": "x509-dn", "name": lab.paps["site"].dn})],
                cred=lab.creds["admin"], ca_dir=lab.ca_dir)
        ban_on(lab, "central", today)
        wait_for_value(lab, "relay", "central", today)
        time.sleep(1.5)  # several failed pulls of the site
        yield lab
    finally:
        lab.stop()


def test_remote_cache_stale_follows_the_canary(pull_lab, tmp_path):
    """Item 11: a working relay without local changes is not stale; a site whose pulls fail is, naming the
    upstream alias and the date of the newest canary it still holds."""
    lab = pull_lab
    conns = dict((name, conn(lab, lab.paps[name], "admin")) for name in lab.paps)
    run_playbook("lint_freshness.yml", {"conns": conns, "yesterday": utc_today(-1)}, tmp_path)


def test_findings_visible_and_able_to_fail(pull_lab, tmp_path):
    """Item 7: the guide's lint task on a relay that cannot pull central printed a plain ok; the findings show
    as warnings, and fail_on lists severities or check ids."""
    lab = pull_lab
    out = run_playbook("lint_visible.yml", {"conn": conn(lab, lab.paps["relay_cut"], "admin")}, tmp_path)
    warnings = [line for line in out.splitlines() if line.startswith("[WARNING]")]
    assert [w for w in warnings if "warning remote_cache_empty" in w and "central" in w], out
    assert "ok: [localhost]" in out  # the first task does not fail: it warns
