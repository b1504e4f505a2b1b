# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The configuration lint of one Argus node (``argus_hierarchy_lint``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Findings from what ``_argus.pdp.fetch_node`` read (and the ACL, ``/pap/status``): the known misconfigurations of
a central, relay or site node, each with its consequence and the fix. The ACL and order rules are those of
``_argus/acl.py``, the model ``argus_pap`` plans with.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._argus.acl import (
    PERMISSIONS,
    WRITE_PERMISSIONS,
    ace_from_key,
    remote_after_default,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import (
    DAY,
    date_start,
    utc_date,
    utc_text,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary import find_canaries
from ansible_collections.gridsec.ops.plugins.module_utils._argus.pdp import (
    alias_labeller,
    evaluate,
)


# ---------------------------------------------------------------------------------------------------------
# Configuration lint of one node
# ---------------------------------------------------------------------------------------------------------

ALL_PERMISSIONS = frozenset(PERMISSIONS)
SEVERITIES = ("info", "warning", "error")
CHECKS = frozenset([
    "tier", "upstream_disabled", "upstream_after_default", "upstream_private_on_relay", "remote_cache_empty",
    "remote_cache_stale", "remote_cache_unverifiable", "status_unreadable", "default_private_on_central",
    "nothing_exported", "private_bans_on_central", "poll_interval_beyond_target", "local_permit_shadows_central_deny",
    "open_acl", "broad_acl", "acl_unreadable"])


def failing_filter(fail_on):
    """``fail_on`` (severities and/or check ids) -> predicate on a finding; raises ValueError on an unknown item.

    A severity fails that severity and the ones above it (``warning`` = warnings and errors, as before); a check
    id fails that check whatever its severity; ``never`` alone (or an empty list) fails nothing.
    """
    items = [str(v).strip() for v in (fail_on or []) if str(v).strip()]
    if items == ["never"]:
        items = []
    unknown = [v for v in items if v not in SEVERITIES and v not in CHECKS]
    if unknown:
        raise ValueError("fail_on: unknown severity or check %s (severities: %s; never alone; checks: %s)"
                         % (", ".join(unknown), ", ".join(SEVERITIES), ", ".join(sorted(CHECKS))))
    levels = [SEVERITIES.index(v) for v in items if v in SEVERITIES]
    lowest = min(levels) if levels else None
    checks = frozenset(v for v in items if v in CHECKS)

    def failing(finding):
        return finding["check"] in checks or (lowest is not None and SEVERITIES.index(finding["severity"]) >= lowest)
    return failing


def _finding(check, severity, message, consequence, fix, alias=None, **extra):
    item = {"check": check, "severity": severity, "alias": alias, "message": message, "consequence": consequence,
            "fix": fix}
    item.update(extra)
    return item


def lint_acl(acl):
    findings = []
    for principal, values in acl.items():
        ace = ace_from_key(principal, values, strict=False)  # the ACL model argus_pap plans with
        perms = ace.permissions
        name = ace.name
        shown = "%s %s" % (str(getattr(principal, "type", ace.kind)).lower(), getattr(principal, "name", name))
        if ace.kind == "anyone":
            if perms >= ALL_PERMISSIONS or perms & WRITE_PERMISSIONS:
                findings.append(_finding(
                    "open_acl", "error",
                    "ANYONE has %s" % ("ALL" if perms >= ALL_PERMISSIONS else "|".join(sorted(perms & WRITE_PERMISSIONS))),
                    "any client with a certificate from a trusted CA can add or remove bans and change the PAP "
                    "configuration (the shipped 'ANYONE : ALL' default)",
                    "replace the ANYONE entry by the admin DNs (gridsec.ops.argus_pap acl) and give downstream "
                    "PAP host DNs POLICY_READ_LOCAL only", principal=shown, permissions=sorted(perms)))
            elif perms:
                findings.append(_finding(
                    "broad_acl", "warning", "ANYONE may read (%s)" % "|".join(sorted(perms)),
                    "every certificate holder of a trusted CA can read the ban list and the configuration",
                    "grant read permissions to the downstream PAP/PDP host DNs and the monitoring DN only",
                    principal=shown, permissions=sorted(perms)))
        elif ace.kind == "fqan" and perms & WRITE_PERMISSIONS:
            findings.append(_finding(
                "broad_acl", "warning", "FQAN %s may write (%s)" % (name, "|".join(sorted(perms & WRITE_PERMISSIONS))),
                "every member of that VO group/role can change bans or the configuration",
                "grant write permissions to individual admin DNs", principal=shown, permissions=sorted(perms)))
    return findings


def lint_remote_freshness(remotes, data, stale_after, target_delay, now, publish_offset):
    """Is the cached copy of each enabled remote PAP still following its upstream?

    The signal is the newest daily canary in the cache: every working pull brings the day's canary, while
    PolicyLastModificationTime never moves on a pull (argus-pap PapContainer returns early for remote PAPs), so
    only the canary tells a failed pull from a working one. The canary dated D+1 is due at D+1 ``publish_offset``
    and must be in the cache ``stale_after`` seconds later (default: ``target_delay`` or two polling intervals).
    """
    findings = []
    interval = data.get("poll_interval") or 0
    grace = stale_after if stale_after is not None else max(target_delay or 0, 2 * interval)
    today = utc_date(now)
    for pap in remotes:
        tree = data["trees"].get(pap.alias)
        if not pap.enabled or tree is None or not tree.policies:
            continue  # disabled, unreadable or empty: reported by other checks
        dates = [c["date"] for c in find_canaries(tree) if c["date"] <= today]
        if not dates:
            findings.append(_finding(
                "remote_cache_unverifiable", "info", "the cached copy of %s holds no canary" % pap.alias,
                "its freshness cannot be told: the daily canary is the one policy that changes upstream every day",
                "make sure the central PAP publishes the canary (gridsec.ops.argus_canary state=published) and that "
                "every PAP between it and this one re-exports it (public aliases)", alias=pap.alias))
            continue
        newest = max(dates)
        due = date_start(newest) + DAY + publish_offset
        if now > due + grace:
            findings.append(_finding(
                "remote_cache_stale", "warning",
                "the newest canary in the cached copy of %s is dated %s; the next one was due at %s and should have "
                "arrived within %ds" % (pap.alias, newest, utc_text(due), grace),
                "the pulls of %s fail or stopped (the PAP only logs pull errors), or the upstream stopped publishing: "
                "bans made upstream since then are missing here" % pap.alias,
                "look at the PAP log for pull errors, check that the upstream ACL grants this host POLICY_READ_LOCAL, "
                "run refresh-cache %s, and check the canary upstream (gridsec.ops.argus_canary)" % pap.alias,
                alias=pap.alias, newest_canary=newest, due_at=due))
    return findings


def lint_node(data, acl, tier, target_delay, stale_after, now, acl_error=None, publish_offset=0):
    """Findings for one node from ``fetch_node`` data (+ the ACL and /pap/status)."""
    findings = []
    paps = data["paps"]
    remotes = [p for p in paps if not p.local]
    if tier == "auto":
        tier = "site" if remotes else "central"
        findings.append(_finding("tier", "info", "tier not given: linted as a %s" % tier,
                                 "relay-only checks (re-export of the upstream) are skipped" if tier == "site" else
                                 "no upstream PAP is configured", "set tier: relay on NGI relays"))
    findings.extend(_lint_upstreams(data, remotes, tier))
    findings.extend(_lint_exports(data, paps, tier))
    findings.extend(_lint_poll_interval(data, remotes, target_delay))
    findings.extend(_lint_shadowed_denies(data, remotes))
    findings.extend(lint_remote_freshness(remotes, data, stale_after, target_delay, now, publish_offset))
    findings.extend(_lint_status(data, remotes))
    findings.extend(_lint_acl_read(acl, acl_error))
    return findings, tier


def _lint_upstreams(data, remotes, tier):
    """Each remote PAP: enabled, ordered before default, public on a relay, a cache that holds something."""
    findings = []
    order = data["order"]
    after_default = remote_after_default(order, dict((p.alias, True) for p in remotes))
    for pap in remotes:
        if not pap.enabled:
            findings.append(_finding(
                "upstream_disabled", "error", "remote PAP %s is disabled" % pap.alias,
                "its policies are not sent to this node's PDPs: central bans are cached here but never enforced",
                "enable it (gridsec.ops.argus_pap, pap-admin enable-pap %s)" % pap.alias, alias=pap.alias))
        if pap.alias in after_default:
            findings.append(_finding(
                "upstream_after_default", "error",
                "remote PAP %s is ordered after default (order: %s)" % (pap.alias, ", ".join(order)),
                "the PDP evaluates first-applicable in PAP order: a local permit in default that matches a banned "
                "user decides first and the central ban never fires",
                "set the order with the upstream first: pap-admin set-paps-order %s default" % pap.alias,
                alias=pap.alias, order=order))
        if tier == "relay" and not pap.public:
            findings.append(_finding(
                "upstream_private_on_relay", "error", "remote PAP %s is private on a relay" % pap.alias,
                "a pulling PAP only receives public PAPs: the sites below this relay never get the central bans",
                "mark it public (add-pap/update-pap --public, gridsec.ops.argus_pap public: true)", alias=pap.alias))
        tree = data["trees"].get(pap.alias)
        if tree is not None and not tree.policies:
            findings.append(_finding(
                "remote_cache_empty", "warning", "the cached copy of %s holds no policies" % pap.alias,
                "either the upstream publishes nothing or the pull never succeeded (an empty reply keeps the old "
                "cache, connection errors are only logged): no central ban is enforced from it",
                "check the upstream ACL grants this host POLICY_READ_LOCAL and run refresh-cache %s" % pap.alias,
                alias=pap.alias))
    return findings


def _lint_exports(data, paps, tier):
    """What a central PAP or a relay exports to the PAPs that pull from it."""
    findings = []
    by_alias = dict((p.alias, p) for p in paps)
    if tier in ("central", "relay"):
        exported = [p for p in paps if p.public]
        if tier == "central" and "default" in by_alias and not by_alias["default"].public:
            findings.append(_finding(
                "default_private_on_central", "error", "alias default is private on the central PAP",
                "relays pulling from this PAP receive nothing", "mark default public", alias="default"))
        if not exported:
            findings.append(_finding("nothing_exported", "error", "no PAP alias is public",
                                     "downstream PAPs receive an empty policy", "mark the aliases to re-export public"))
        tree = data["trees"].get("default")
        if tree is not None and tier == "central":
            private = [p.policy_id for p in tree.policies.values() if not p.public and
                       any(r.deny for r in p.rules)]
            if private:
                findings.append(_finding(
                    "private_bans_on_central", "warning", "%d private deny policies in default" % len(private),
                    "private policies are stripped from what relays pull: these bans stay on this PAP",
                    "ban with public: true", alias="default", policy_ids=private))
    return findings


def _lint_poll_interval(data, remotes, target_delay):
    """A polling interval longer than the target delay."""
    findings = []
    interval = data.get("poll_interval")
    if remotes and interval is not None and target_delay is not None and interval > target_delay:
        findings.append(_finding(
            "poll_interval_beyond_target", "warning",
            "polling interval %ds exceeds the target delay %ds" % (interval, target_delay),
            "a new central ban can take up to %ds to reach this PAP alone, before the PDP and PEP delays" % interval,
            "lower it: pap-admin set-polling-interval %d (and refresh-cache from cron)" % target_delay,
            poll_interval=interval))
    return findings


def _lint_shadowed_denies(data, remotes):
    """Local permit rules that would decide before a central deny."""
    findings = []
    for pap in remotes:
        if not pap.enabled:
            continue
        tree = data["trees"].get(pap.alias)
        if tree is None:
            continue
        for _ps, _policy, rule in tree.iter_rules():
            if not rule.deny or len(rule.attributes) != 1:
                continue
            attribute = rule.attributes[0]
            if attribute.attribute_id_spl not in ("subject", "fqan", "pfqan", "vo"):
                continue
            request = {"resource": None, "action": None, "attributes": {attribute.attribute_id_spl: attribute.value}}
            decision = evaluate(data["pdp_tree"], request, alias_labeller(data["roots"]))
            if decision["decision"] in ("permit", "maybe-permit") and decision["alias"] != pap.alias:
                findings.append(_finding(
                    "local_permit_shadows_central_deny", "error",
                    "central deny %s = %s (alias %s) is shadowed by %s rule %s in alias %s"
                    % (attribute.attribute_id_spl, attribute.value, pap.alias, decision["decision"],
                       decision["rule_id"], decision["alias"]),
                    "the PDP reaches the local permit first and never applies the central ban for this user",
                    "order the upstream first, or narrow the local permit", alias=decision["alias"],
                    deny={"alias": pap.alias, "id": attribute.attribute_id_spl, "value": attribute.value},
                    permit_rule=decision["rule_id"], permit_attributes=decision["attributes"]))
    return findings


def _lint_status(data, remotes):
    """What /pap/status says of the cached upstream policies."""
    findings = []
    status = data.get("status")
    if [p for p in remotes if p.enabled] and status:
        if status.get("NumberOfRemotePolicies") in ("0",):
            findings.append(_finding(
                "remote_cache_empty", "warning", "/pap/status reports NumberOfRemotePolicies: 0",
                "no cached upstream policy: no central ban is enforced", "check the pull (ACL upstream, refresh-cache)"))
    elif [p for p in remotes if p.enabled] and status is None:
        findings.append(_finding("status_unreadable", "info", "/pap/status could not be read",
                                 "the remote policy count was not checked", "allow access to /pap/status"))
    return findings


def _lint_acl_read(acl, acl_error):
    """The ACL checks, or why they could not be made."""
    findings = []
    if acl is not None:
        findings.extend(lint_acl(acl))
    elif acl_error:
        findings.append(_finding("acl_unreadable", "info", "the ACL could not be read: %s" % acl_error,
                                 "open ACLs not checked", "grant CONFIGURATION_READ to the lint credential"))
    return findings
