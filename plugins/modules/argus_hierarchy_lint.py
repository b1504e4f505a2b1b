#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: argus_hierarchy_lint
short_description: Report the known misconfigurations of an Argus node in the central suspension hierarchy
version_added: 0.2.0
description:
  - Reads a live Argus PAP through its API (PAP list, order, polling interval, policy trees, what its PDPs receive,
    ACL and C(/pap/status)) and reports each known misconfiguration of a central, relay (NGI) or site node with its
    consequence and the fix (the central suspension hierarchy of the EGI/WLCG Argus documentation; ordering,
    public re-export, ACL, polling).
  - "Checks (C(check) of each finding): C(upstream_after_default) (error: a local permit can decide before the central
    ban), C(upstream_private_on_relay) (error: the sites below never get the central bans), C(upstream_disabled)
    (error: cached but not sent to the PDPs), C(poll_interval_beyond_target) (warning), C(open_acl) (error: ANYONE
    with a write permission or ALL) and C(broad_acl) (warning: ANYONE may read, an FQAN may write),
    C(local_permit_shadows_central_deny) (error: for a central deny, the node's PDP view reaches a permit first),
    C(remote_cache_empty) (warning: the cached upstream holds nothing), C(remote_cache_stale) (warning: the newest
    daily canary in the cached copy of an upstream is older than it should be, so the pulls fail),
    C(remote_cache_unverifiable) (info: the cached copy holds no canary, so its freshness cannot be told),
    C(default_private_on_central), C(nothing_exported) (error) and C(private_bans_on_central) (warning) on central
    and relay nodes."
  - Every finding that does not fail the task is also returned as a warning, so that it shows in the play output
    (a relay that cannot pull its upstream is never a plain C(ok)).
  - Never changes anything.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(lxml) on the host that runs the module (every call to a PAP is a SOAP message)
extends_documentation_fragment:
  - gridsec.ops._argus
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.INFO_MODULE
  - gridsec.ops._attributes.ACTIONGROUP_ARGUS
options:
  tier:
    description:
      - The role of the node. V(auto) lints a node with remote PAPs as a site and one without as the central PAP; the
        relay checks (re-export of the upstream) need V(relay).
    type: str
    choices: [auto, central, relay, site]
    default: auto
  target_delay:
    description:
      - Seconds within which a central ban should reach this PAP; a polling interval above it is reported.
    type: int
    default: 14400
  stale_after:
    description:
      - Seconds allowed, after the next daily canary became due (the day after the newest canary in the cached copy
        of a remote PAP, at O(publish_time)), before that cached copy is reported stale (C(remote_cache_stale)).
        By default the larger of O(target_delay) and two polling intervals.
      - The canary is the signal because every working pull brings the day's canary, while the PAP's
        C(PolicyLastModificationTime) never moves on a pull (argus-pap C(PapContainer) returns early for remote
        PAPs).
    type: int
  publish_time:
    description:
      - Time of day (UTC, V(HH:MM)) at which the central team publishes the day's canary.
    type: str
    default: "00:00"
  fail_on:
    description:
      - Fail the task when a finding matches an item of this list. A severity (V(error), V(warning), V(info)) matches
        findings of that severity or above (V(warning) fails on warnings and errors); a check id (for example
        V(remote_cache_empty)) matches that check whatever its severity. V(never) alone (or an empty list) only
        reports.
      - A single value is accepted as before (V(error), V(warning), V(never)).
    type: list
    elements: str
    default: [error]
notes:
  - Needs CONFIGURATION_READ, POLICY_READ_LOCAL and POLICY_READ_REMOTE. Without CONFIGURATION_READ on the ACL the
    ACL checks are skipped with an C(info) finding.
seealso:
  - module: gridsec.ops.argus_canary
  - module: gridsec.ops.argus_pap
"""

EXAMPLES = r"""
- name: Lint an NGI relay
  gridsec.ops.argus_hierarchy_lint:
    pap_host: argus.ngi.example.org
    tier: relay
    target_delay: 3600
  register: lint

- name: Fail on errors and on a relay that cannot pull its upstream
  gridsec.ops.argus_hierarchy_lint:
    pap_host: argus.ngi.example.org
    tier: relay
    fail_on: [error, remote_cache_empty, remote_cache_stale]

- name: Report only (the findings still show as warnings)
  gridsec.ops.argus_hierarchy_lint:
    pap_host: argus.site.example.org
    tier: site
    fail_on: never
  register: lint
"""

RETURN = r"""
findings:
  description: The misconfigurations found, errors first.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: Id of the check (see the description).
      type: str
    severity:
      description: V(error), V(warning) or V(info).
      type: str
    alias:
      description: The PAP alias concerned, if any.
      type: str
    message:
      description: What is wrong.
      type: str
    consequence:
      description: What it does to the propagation or enforcement of bans.
      type: str
    fix:
      description: How to fix it.
      type: str
counts:
  description: Number of findings per severity.
  returned: always
  type: dict
  sample: {"error": 1, "warning": 0, "info": 0}
tier:
  description: The tier the node was linted as.
  returned: always
  type: str
node:
  description: What was read (C(paps), C(order), C(poll_interval), C(status), C(acl)).
  returned: always
  type: dict
operations:
  description: Always empty (nothing is written).
  returned: always
  type: list
  elements: dict
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

import time

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import parse_publish_time
from ansible_collections.gridsec.ops.plugins.module_utils._argus.lint import SEVERITIES, failing_filter, lint_node
from ansible_collections.gridsec.ops.plugins.module_utils._argus.pdp import fetch_node
from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import ArgusModule, pap_to_dict
from ansible_collections.gridsec.ops.plugins.module_utils._errors import CheckFailed, ConfigError, GridsecError


def main():
    module = ArgusModule(
        argument_spec=dict(
            tier=dict(type="str", choices=["auto", "central", "relay", "site"], default="auto"),
            target_delay=dict(type="int", default=14400),
            stale_after=dict(type="int"),
            publish_time=dict(type="str", default="00:00"),
            fail_on=dict(type="list", elements="str", default=["error"]),
        ),
        supports_check_mode=True,
    )
    module.run_guarded(run, module)


def run(module):
    """read the node -> lint -> report (warnings, or a failure for the findings matching fail_on)."""
    p = module.params
    try:
        failing = failing_filter(p["fail_on"])
        publish_offset = parse_publish_time(p["publish_time"])
    except ValueError as err:
        raise ConfigError(str(err))
    client = module.client()
    module.done_operations = []  # read-only: a failure reports no operation
    acl = None
    acl_error = None
    data = fetch_node(client, view="pdp", want_status=True, all_trees=True)
    try:
        acl = client.get_acl()
    except GridsecError as err:
        acl_error = str(err)
    findings, tier = lint_node(data, acl, p["tier"], p["target_delay"], p["stale_after"], time.time(),
                               acl_error=acl_error, publish_offset=publish_offset)
    findings.sort(key=lambda f: -SEVERITIES.index(f["severity"]))
    counts = dict((s, sum(1 for f in findings if f["severity"] == s)) for s in SEVERITIES)
    node = dict(
        paps=[pap_to_dict(pap) for pap in data["paps"]],
        order=data["order"],
        poll_interval=data["poll_interval"],
        view=data["view"],
        status=data.get("status"),
        acl=dict(("%s:%s" % (k.type, k.name), sorted(v)) for k, v in (acl or {}).items()),
        read_errors=data["errors"],
    )
    result = dict(changed=False, findings=findings, counts=counts, tier=tier, node=node, operations=[],
                  requests=module.client_operations())
    failed = [f for f in findings if failing(f)]
    for finding in findings:
        if finding not in failed:
            module.warn("%s: %s %s: %s (%s); fix: %s" % (module.server_label, finding["severity"], finding["check"],
                                                         finding["message"], finding["consequence"], finding["fix"]))
    if failed:
        raise CheckFailed("%s: %d finding(s) matching fail_on (%s): %s" % (
            module.server_label, len(failed), ", ".join(p["fail_on"]),
            "; ".join("%s %s: %s" % (f["severity"], f["check"], f["message"]) for f in failed)), result=result)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
