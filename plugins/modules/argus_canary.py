#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: argus_canary
short_description: Publish the daily Argus canary ban, or check that it propagated and is enforced
version_added: 0.2.0
description:
  - The central suspension team bans an invalid "canary" DN every day; monitoring checks that it reaches every
    Argus node (the EGI secmon probe C(argus-ban) of ARGOeu-Metrics/secmon-probes checks it). The canary is
    C(CN=<hash8>, CN=<YYYYMMDD>, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, DC=cern, DC=ch)
    where C(hash8) is the first 8 hex digits of SHA-256(O(salt) followed by the date).
  - O(state=published) (central team) makes sure today's canary is banned (public deny rule, resource and action
    V(.*)) in O(alias) of the PAP given by O(pap_host), stored exactly in the RFC 2253 form with C(", ")
    separators that the field probe recognises, and removes the canaries (with a hash matching O(salt)) dated more
    than O(keep_days) days before today. Canary-shaped rules whose hash does not match O(salt) are left alone and
    reported.
  - O(state=checked) (monitoring, CI) reads every PAP in O(endpoints) concurrently (at most O(max_workers) at a time,
    each bounded by O(endpoint_timeout)) and reports for each node the newest valid canary (hash verified with
    O(salt), or format only without a salt, like the probe), its age, whether today's is present, the propagation
    lag, the delay budget computed from the polling intervals of the nodes, and whether the node would actually deny
    the canary.
  - Propagation latency (see the collection's C(docs/canary.md), "Latency and the worst-case bound"). With
    O(history_file) the check remembers when each node first showed today's canary and reports the latency per node
    and per hop; a node lacking today's canary while its upstream has held it longer than the node's poll interval +
    O(hop_allowance) names the stalled hop (RV(stalled_hops)); each node's worst-case bound (PAP path, PDP cache, PEP
    cache) and its latency are compared with O(latency_slo).
  - The effective-deny check evaluates what the node's PDPs receive (the ProvisioningService PDP view, or the same
    view composed from the enabled PAPs in order with O(view=composed)) first-applicable, so a central rule that is
    present but ordered after a local permit (upstream after C(default)) fails. For a node other checked nodes pull
    from (a relay, the central PAP) the PAP view served downstream must deny the canary too, so a relay that does
    not re-export its upstream (private upstream alias) fails. Request attributes other than the subject DN are
    unknown to the check, so a permit that may match the canary's user (for example a VO or FQAN permit) counts as
    permitting it.
  - Results come as structured data, as Nagios plugin output (RV(nagios)) and optionally as a Prometheus
    textfile-collector file (O(prometheus_file)). The collection ships a Nagios wrapper,
    C(extras/check_argus_canary), that turns a saved result into plugin output and exit code.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(lxml) on the host that runs the module (every call to a PAP is a SOAP message)
  - Python library C(cryptography), optional (it reads the DN of the credential; without it the check of the
    credential's write permissions against the PAP's ACL in check mode of O(state=published) is skipped)
extends_documentation_fragment:
  - gridsec.ops._argus
  - gridsec.ops._tls
  - gridsec.ops._attributes
  - gridsec.ops._attributes.ACTIONGROUP_ARGUS
attributes:
  check_mode:
    support: full
    details:
      - With O(state=published) check mode reads the PAP and reports the writes it would issue in RV(operations).
      - With O(state=checked) nothing is written to any PAP; O(prometheus_file), O(report_html) and O(history_file)
        are not written in check mode.
  diff_mode:
    support: full
    details:
      - With O(state=published) the diff shows the alias's policy before and after as SPL text.
  idempotent:
    support: full
options:
  state:
    description:
      - V(published) bans today's canary and removes old ones on one PAP; V(checked) checks O(endpoints).
    type: str
    choices: [published, checked]
    required: true
  salt:
    description:
      - The secret salt of the canary hash. Required with O(state=published).
      - With O(state=checked) and no salt only the format of the canary is checked (like the probe without a salt).
    type: str
  date:
    description:
      - The day to publish or check, V(YYYYMMDD). Defaults to today in UTC.
    type: str
  alias:
    description:
      - The local alias the canary is banned in (O(state=published)).
    type: str
    default: default
  keep_days:
    description:
      - With O(state=published), canaries dated more than this many days before O(date) are removed. V(0) keeps only
        today's.
    type: int
    default: 7
  endpoints:
    description:
      - The PAPs to check with O(state=checked). Without endpoints the PAP given by O(pap_host) is checked.
      - The connection options (O(client_cert), O(ca_path)...) are the same for every endpoint.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description:
          - Name of the node in the results, the Nagios output and the Prometheus labels. Defaults to C(host:port).
        type: str
      host:
        description:
          - Host name of the PAP.
        type: str
        required: true
      port:
        description:
          - Port of the PAP SOAP services.
        type: int
        default: 8150
      path:
        description:
          - Path of the PAP SOAP services.
        type: str
        default: /pap/services
      exports:
        description:
          - Whether downstream PAPs pull from this node, so that what it serves them must deny the canary too.
            By default this is true when another checked endpoint has this node as a remote PAP.
        type: bool
      pdp_retention_interval:
        description:
          - Minutes between two policy pulls of the node's PDP (C(retentionInterval) of C(pdp.ini), the role variable
            C(argus_server_pdp_retention_interval)); part of the worst-case bound RV(nodes[].bound_seconds).
          - Unset, Argus's own default (240 minutes) on a node with remote PAPs and V(0) on a node without (the
            central PAP, where the canary is published; the C(argus_server) role's central tier has no PDP).
        type: float
      pepd_cached_response_ttl:
        description:
          - Seconds the node's PEP daemon caches a decision (C(cachedResponseTTL) of C(pepd.ini), the role variable
            C(argus_server_pepd_cached_response_ttl)); part of the worst-case bound RV(nodes[].bound_seconds).
          - Unset, Argus's own default (600 seconds) on a node with remote PAPs and V(0) on a node without.
        type: float
  max_workers:
    description:
      - How many endpoints are checked at the same time.
    type: int
    default: 16
  endpoint_timeout:
    description:
      - Seconds allowed for each endpoint (each request is also bounded by O(timeout)). A node that does not answer
        in time is reported UNKNOWN.
    type: float
    default: 30
  view:
    description:
      - V(pdp) asks each PAP for what its PDPs receive (ProvisioningService, needs POLICY_READ_LOCAL and
        POLICY_READ_REMOTE) and falls back to V(composed) when that is refused.
      - V(composed) builds the same view from C(getAllPaps), C(getOrder) and the trees of the enabled aliases.
    type: str
    choices: [pdp, composed]
    default: pdp
  request_resource:
    description:
      - Resource of the request the effective-deny check evaluates. By default any resource (a rule whose resource
        is not V(.*) may or may not apply).
    type: str
  request_action:
    description:
      - Action of the request the effective-deny check evaluates. By default any action.
    type: str
  publish_time:
    description:
      - Time of day (UTC, V(HH:MM)) at which the central team publishes the day's canary; the lag of a node that
        does not hold today's canary counts from then.
    type: str
    default: "00:00"
  since:
    description:
      - POSIX time at which today's canary was published (for example RV(published_at) of O(state=published)). The
        lag of a node holding today's canary is then the time from O(since) until the check saw it (an upper bound
        of the propagation delay).
    type: float
  wait_for_today:
    description:
      - Seconds to keep polling a node until today's canary appears (CI right after publishing). V(0) looks once.
    type: float
    default: 0
  warning_lag:
    description:
      - Lag (seconds) from which a node is WARNING.
    type: int
    default: 43200
  critical_lag:
    description:
      - Lag (seconds) from which a node is CRITICAL.
    type: int
    default: 86400
  hop_allowance:
    description:
      - Seconds added for each PAP-to-PAP hop to the polling interval in the delay budget (duration of a pull).
    type: float
    default: 60
  extra_delay:
    description:
      - Seconds added once to every budget RV(nodes[].budget_seconds) and so to every worst-case bound
        RV(nodes[].bound_seconds) (delays outside the PAP, PDP and PEP chain, for example a cron job between the PAP
        and an enforcer).
      - The PDP and PEP caches are counted in the bound from O(endpoints[].pdp_retention_interval) and
        O(endpoints[].pepd_cached_response_ttl); do not put them in O(extra_delay) too (they would count twice).
    type: float
    default: 0
  history_file:
    description:
      - JSON file in which the check remembers, per node and day, its first look of the day, the first look that saw
        today's canary (RV(nodes[].first_seen)) and the last look without it, so that a check run every few minutes
        measures the propagation latency across runs. Written atomically after each check, never in check mode; the
        records of the last 7 days are kept. A file that is not a history is replaced (with a warning).
      - With a history file and neither O(since) nor O(wait_for_today), the latency counts from O(publish_time) of
        the day.
    type: path
  latency_slo:
    description:
      - The propagation latency the operator promises, from the publication of the canary to enforcement at every
        node, as seconds or a duration (V(90), V(30m), V(8h), V(1d)).
      - A node is WARNING when its worst-case bound RV(nodes[].bound_seconds) exceeds it, when its measured latency
        does (exact latency, or the lower bound RV(nodes[].lag_min_seconds)), or when today's canary is still missing
        longer than the SLO after it was due. Unset, nothing is compared.
    type: str
  prometheus_file:
    description:
      - Write the results for the node-exporter textfile collector to this file (atomically). A node that fails
        keeps the last-success timestamp found in the previous file.
    type: path
  strict_today:
    description:
      - The strict reading of the field probe's C(--today) mode (for CI); a node without the canary of O(date) is
        CRITICAL whatever its lag.
      - By default a node still on an older canary is OK while its lag (time since today's canary was due, see
        O(publish_time)) is below O(warning_lag); the summary then says on how many nodes today's canary is not yet
        seen and the lag against that budget.
      - Either way a canary dated after O(date) is never counted as today's (it is reported, WARNING), and a node
        without remote PAPs (the central PAP, where the canary is published) without today's canary after
        O(publish_time) is a finding (WARNING at least).
    type: bool
    default: false
  subjects:
    description:
      - With O(state=checked), DNs (OpenSSL slash form or RFC 2253) to check on every node at the same time as the
        canary, for example a user just suspended or unbanned; reported per node are where it stores a rule on it
        (RV(nodes[].subjects)) and what its PDP view (and, for a node others pull from, what it serves downstream)
        decides for it. The result does not change a node's status.
    type: list
    elements: str
    default: []
  report_html:
    description:
      - With O(state=checked), write an HTML propagation report of the result to this file (atomically; not in check
        mode) with the check time and each node's read time, the canary date, the subjects, the hierarchy as a tree with
        each node's status, which canary it holds, its lag against the budgets, its latency, hop latency and
        worst-case bound against O(latency_slo), what its PDP view and what it serves
        downstream decide, and where each subject is stored and whether it is denied. One self-contained page (no
        script, no external resource); every value is escaped.
    type: path
  report_title:
    description:
      - Title of the O(report_html) page.
    type: str
    default: Propagation of the canary and the suspensions
  fail_on:
    description:
      - Fail the task when the worst node status is at least V(critical) (CRITICAL or UNKNOWN) or V(warning), or
        V(never). The results are returned either way.
    type: str
    choices: [critical, warning, never]
    default: critical
notes:
  - O(state=checked) needs CONFIGURATION_READ and POLICY_READ_LOCAL/POLICY_READ_REMOTE on every node, like the probe.
  - O(state=published) needs POLICY_WRITE and POLICY_READ_LOCAL on the central PAP.
seealso:
  - module: gridsec.ops.argus_hierarchy_lint
  - module: gridsec.ops.argus_policy
"""

EXAMPLES = r"""
- name: Publish today's canary (central team, daily from cron)
  gridsec.ops.argus_canary:
    state: published
    salt: "{{ canary_salt }}"
    keep_days: 7
    pap_host: central-argus.example.org

- name: Check every node of the hierarchy in one task
  gridsec.ops.argus_canary:
    state: checked
    salt: "{{ canary_salt }}"
    endpoints:
      - {name: central, host: central-argus.example.org}
      - {name: ngi, host: argus.ngi.example.org}
      - {name: site-a, host: argus.site-a.example.org}
    prometheus_file: /var/lib/node_exporter/textfile/argus_canary.prom
    fail_on: critical
  register: canary
"""

RETURN = r"""
canary:
  description: The canary of O(date) (stored form, OpenSSL form, date). Without a salt (O(state=checked)) only the date.
  returned: always
  type: dict
  sample: {"dn": "CN=1a2b3c4d, CN=20261201, CN=Test Subject, ...", "openssl": "/DC=ch/DC=cern/...", "date": "20261201"}
msg:
  description: What the run did, or in check mode would do (C(canary 20261201 published on ...), C(... would be
    published ... (check mode)), C(... already present on ...)), and how many old canaries were (would be) removed.
  returned: state=published
  type: str
added:
  description: Whether today's canary was added (in check mode, would be added).
  returned: state=published
  type: bool
published_at:
  description: POSIX time at which the ban was issued (V(null) when today's canary was already there or in check mode).
  returned: state=published
  type: float
removed:
  description: Stored values of the old canaries removed (or that would be removed in check mode).
  returned: state=published
  type: list
  elements: str
kept:
  description: Dates of the valid canaries left in the alias.
  returned: state=published
  type: list
  elements: str
foreign:
  description: Canary-shaped values whose hash does not match O(salt); never removed.
  returned: state=published
  type: list
  elements: str
nodes:
  description: One result per endpoint, in the order given.
  returned: state=checked
  type: list
  elements: dict
  contains:
    name:
      description: Node name.
      type: str
    status:
      description: OK, WARNING, CRITICAL or UNKNOWN.
      type: str
    problems:
      description: Why the node is not OK.
      type: list
      elements: str
    error:
      description: Why the node could not be checked (then status is UNKNOWN).
      type: str
    newest:
      description: Stored value of the newest valid canary.
      type: str
    newest_date:
      description: Its date.
      type: str
    newest_alias:
      description: The alias it was found in.
      type: str
    newest_age_seconds:
      description: Seconds since 00:00 UTC of that date.
      type: int
    today_present:
      description: Whether the canary of O(date) is present (a canary dated after O(date) never counts).
      type: bool
    future_dates:
      description: Dates after O(date) of the valid canaries found (never counted as today's; the node is WARNING).
      type: list
      elements: str
    origin:
      description: Whether the node has no remote PAP (it is where the canary is published, the central PAP).
      type: bool
    publish_overdue:
      description: For an origin node, whether today's canary is missing after O(publish_time) (a finding).
      type: bool
    checked_at:
      description: POSIX time of the node's last read.
      type: float
    subjects:
      description: One entry per O(subjects) DN (C(dn), C(present), C(aliases) storing a rule on it, C(denied) by the
        PDP view, C(effective) and C(export) decisions like RV(nodes[].effective)).
      type: list
      elements: dict
    lag_seconds:
      description: Propagation lag in whole seconds (see O(since), O(publish_time)); with O(since), the upper bound
        (time from O(since) until the check saw the canary).
      type: int
    budget_seconds:
      description: Delay budget of the node (polling intervals of the path from the top checked node + allowances).
      type: float
    budget_complete:
      description: False when an upstream PAP of the node was not among the checked endpoints.
      type: bool
    lag_min_seconds:
      description: Lower bound of the propagation delay (the last look that missed today's canary, relative to
        O(since)); V(0) when the canary was there at the first look.
      type: float
    within_budget:
      description: Whether the propagation delay can be within the budget (RV(nodes[].lag_min_seconds) <= budget).
      type: bool
    effective_deny:
      description: Whether the node (and what it serves downstream, for an exporting node) denies the canary.
      type: bool
    effective:
      description: The deciding rule of the PDP view (C(decision) deny, permit, maybe-permit, not-applicable; C(alias),
        C(policy_id), C(rule_id), C(text)).
      type: dict
    export:
      description: The same for the PAP view served downstream (exporting nodes only).
      type: dict
    canaries:
      description: Every canary-shaped value found (alias, date, hash, hash_valid, effect, ...).
      type: list
      elements: dict
    order:
      description: Effective PAP order of the node.
      type: list
      elements: str
    poll_interval:
      description: Polling interval of the node (seconds).
      type: float
    first_seen:
      description: POSIX time of the first look (of this check, or remembered in O(history_file)) that saw today's
        canary on the node; V(null) without today's canary.
      type: float
    latency_seconds:
      description: Propagation latency of today's canary to the node, RV(nodes[].first_seen) minus the publication
        (O(since); else the start of the check with O(wait_for_today); else, with O(history_file), O(publish_time) of
        the day); V(null) when the node lacks it or the publication time is unknown. Equal to RV(nodes[].lag_seconds)
        (whole seconds) when set.
      type: float
    latency_bound:
      description: V(exact) when a look without the canary after the publication was recorded (the arrival lies
        between RV(nodes[].lag_min_seconds) and RV(nodes[].latency_seconds), to within the time between two looks);
        V(upper) when the canary was already there at the node's first look after the publication (the latency is at
        most RV(nodes[].latency_seconds)); V(null) without a latency.
      type: str
    hop_upstream:
      description: The checked upstream node this node got today's canary from (the earliest first seen of its
        upstreams holding it).
      type: str
    hop_latency_seconds:
      description: RV(nodes[].first_seen) minus the first seen of RV(nodes[].hop_upstream); V(null) when either is
        unknown.
      type: float
    stalled_upstream:
      description: Name of the upstream that has held today's canary longer than this node's poll interval +
        O(hop_allowance) while this node lacks it (the hop where propagation stops), else V(null).
      type: str
    bound_seconds:
      description: Worst-case propagation bound of the node, RV(nodes[].budget_seconds) (the PAP path and
        O(extra_delay)) + the PDP cache + the PEP cache (see O(endpoints[].pdp_retention_interval),
        O(endpoints[].pepd_cached_response_ttl)); the parts in C(bound_parts) (C(path), C(extra), C(pdp_cache),
        C(pep_cache)).
      type: float
    bound_within_slo:
      description: Whether RV(nodes[].bound_seconds) is within O(latency_slo) (V(null) without an SLO).
      type: bool
    within_slo:
      description: Whether the measured latency is within O(latency_slo); V(null) when unknown (no SLO, no latency,
        or only an upper bound above the SLO).
      type: bool
    latency_problems:
      description: The latency findings that make the node WARNING (stalled hop, bound or latency above
        O(latency_slo)); also in RV(nodes[].problems).
      type: list
      elements: str
stalled_hops:
  description: The hops where today's canary stops (C(hop) V(relay<-central), C(node), C(upstream), C(held_seconds)
    the time the upstream has held it, C(hop_budget_seconds) the node's poll interval + O(hop_allowance)); also named
    in the status line of RV(nagios) (C(; stalled hop relay<-central)).
  returned: state=checked
  type: list
  elements: dict
history_written:
  description: Whether O(history_file) was written.
  returned: state=checked
  type: bool
subjects:
  description: The O(subjects) checked.
  returned: state=checked
  type: list
  elements: str
thresholds:
  description: The thresholds of the check (C(warning_lag), C(critical_lag), C(strict_today), C(publish_time),
    C(latency_slo) in seconds, C(hop_allowance), C(extra_delay)); read by C(extras/check_argus_canary) and the HTML
    report.
  returned: state=checked
  type: dict
report_html_written:
  description: Whether O(report_html) was written.
  returned: state=checked
  type: bool
summary:
  description: Number of nodes per status.
  returned: state=checked
  type: dict
nagios:
  description: Nagios plugin output (C(code) 0-3, C(status), C(text) with status line, perfdata and long text). When
    every node is OK but some are still on an older canary, the status line says so (C(today's canary not yet seen
    on 2/3 nodes, lag 2 h of a 12 h budget; ...)); it says C(N/N nodes deny today's canary) only when they do.
  returned: state=checked
  type: dict
prometheus:
  description: The Prometheus text exposition of the results.
  returned: state=checked
  type: str
operations:
  description: Write operations issued (or that would be issued in check mode); always empty with O(state=checked).
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

import concurrent.futures
import time

from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import (
    CRITICAL,
    OK,
    STATUS_NAMES,
    UNKNOWN,
    WARNING,
    canary_dn,
    canary_openssl,
    check_date,
    date_start,
    parse_canary,
    parse_publish_time,
    shift_date,
    utc_date,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary import (
    CheckOptions,
    add_export_check,
    compute_budgets,
    downstream_names,
    node_status,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_latency import (
    apply_bounds,
    apply_latency,
    dump_history,
    load_history,
    record_looks,
    slo_problems,
    stall_problems,
    stalled_hops,
    this_check,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_metrics import (
    nagios_report,
    previous_successes,
    prometheus_text,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_report import render as render_report
from ansible_collections.gridsec.ops.plugins.module_utils._argus.module import ArgusModule
from ansible_collections.gridsec.ops.plugins.module_utils._argus.plan_exec import execute_plan
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_input import Target
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_plan import _Ids, plan_ban, plan_unban
from ansible_collections.gridsec.ops.plugins.module_utils._argus.policy_view import (
    PlanError,
    to_spl,
    view_from_tree,
    views_equivalent,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import (
    DEFAULT_PATH,
    DEFAULT_PORT,
    PAP_OPTIONS,
    PapEndpoint,
)
from ansible_collections.gridsec.ops.plugins.module_utils._errors import CheckFailed, ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.state import parse_duration


class LiteralTarget(Target):
    """A canary is only "present" when stored literally as the probe expects (", " separators)."""

    def matches(self, rule):
        return (rule.effect == "deny" and rule.plain and rule.attributes[0][0] == self.attr_id
                and rule.attributes[0][1] == self.literal)


def _endpoints(p):
    """The PAPs to check (``endpoints``, else the task's own PAP) as dicts with their ``PapEndpoint``; raises
    ``ConfigError`` naming the first invalid one before anything is sent."""
    endpoints = []
    items = p["endpoints"] or [{"host": p["pap_host"], "port": p["pap_port"], "path": p["pap_path"]}]
    for index, item in enumerate(items):
        host = item.get("host")
        port = item.get("port") or DEFAULT_PORT
        path = item.get("path") or DEFAULT_PATH
        options = ("endpoints[%d].host" % index, "endpoints[%d].port" % index, "endpoints[%d].path" % index) \
            if p["endpoints"] else PAP_OPTIONS
        endpoint = PapEndpoint(host, port, path, options=options,
                               name=item.get("name") or ("%s:%s" % (host, port) if p["endpoints"] else None))
        endpoint.check()
        caches = dict((key, item.get(key)) for key in ("pdp_retention_interval", "pepd_cached_response_ttl"))
        for key, value in caches.items():
            if value is not None and value < 0:
                raise ConfigError("endpoints[%d].%s must be >= 0" % (index, key))
        endpoints.append(dict(caches, name=endpoint.name, host=host, port=int(port), path=path,
                              exports=item.get("exports"), url=endpoint.base_url, endpoint=endpoint))
    names = [e["name"] for e in endpoints]
    duplicates = sorted(set(n for n in names if names.count(n) > 1))
    if duplicates:
        raise ConfigError("endpoint names must be unique: %s" % ", ".join(duplicates))
    return endpoints


def published(module, today):
    p = module.params
    alias = p["alias"]
    salt = p["salt"]
    value = canary_dn(salt, today)
    oldest_kept = shift_date(today, -p["keep_days"])
    module.done_operations = []  # a failure lists the writes done, none so far
    module.require_alias(alias, local=True)
    client = module.client()
    before = view_from_tree(client.get_tree(alias), alias)
    work = before.copy()
    ids = _Ids()
    warnings = []
    foreign = []
    old = []
    for policy_set, policy, rule in before.iter_rules():
        if rule.effect != "deny" or not rule.plain or rule.attributes[0][0] != "subject":
            continue
        parsed = parse_canary(rule.attributes[0][1], salt)
        if parsed is None:
            continue
        if not parsed["hash_valid"]:
            foreign.append(rule.attributes[0][1])
        elif parsed["date"] < oldest_kept:
            old.append((rule.attributes[0][1], policy_set.resource, policy.action))
    try:
        ops = plan_ban(work, ids, LiteralTarget("subject", value, value), ".*", ".*", True, warnings)
        done = set()
        for literal, resource, action in old:
            if (literal, resource, action) in done:
                continue
            done.add((literal, resource, action))
            ops.extend(plan_unban(work, LiteralTarget("subject", literal, literal), resource, action, warnings))
    except PlanError as err:
        raise ConfigError(str(err), server=module.server_label)
    for warning in warnings:
        module.warn(warning)
    if foreign:
        module.warn("%d canary-shaped ban(s) in alias %s on %s have a hash that does not match the salt; left in "
                    "place: %s" % (len(foreign), alias, module.server_label, ", ".join(sorted(set(foreign)))))
    published_at = None
    module.check_write_permission([op.operation for op in ops])  # a read-only credential
    if module.check_mode:
        after = work
        operations = [op.describe() for op in ops]
    else:
        if any(op.operation == "ban" for op in ops):
            published_at = time.time()
        execute_plan(module, alias, ops)
        after = view_from_tree(client.get_tree(alias), alias)
        operations = module.done_operations
        if not views_equivalent(after, work):
            module.warn("the policy of alias %s on %s after the run differs from the prediction; another client "
                        "may have changed it at the same time" % (alias, module.server_label))
    kept = sorted(set(parse_canary(r.attributes[0][1], salt)["date"] for _ps, _p, r in after.iter_rules()
                      if r.effect == "deny" and r.plain and r.attributes[0][0] == "subject"
                      and (parse_canary(r.attributes[0][1], salt) or {}).get("hash_valid")))
    before_spl, after_spl = to_spl(before), to_spl(after)
    added = any(op.operation == "ban" for op in ops)
    result = dict(
        msg=_published_message(module, today, alias, added, len(set(v for v, _r, _a in old))),
        added=added,
        changed=before_spl != after_spl or bool(operations),
        operations=operations,
        canary={"dn": value, "openssl": canary_openssl(salt, today), "date": today},
        published_at=published_at,
        removed=sorted(set(v for v, _r, _a in old)),
        kept=kept,
        foreign=sorted(set(foreign)),
        requests=module.client_operations(),
    )
    if module._diff:
        header = "%s alias %s" % (module.server_label, alias)
        result["diff"] = dict(before=before_spl, after=after_spl, before_header=header, after_header=header)
    module.exit_json(**result)


def _published_message(module, today, alias, added, removed):
    """What the run did (or, in check mode, would do): never "already present" for a canary it adds."""
    would = module.check_mode
    where = "%s alias %s" % (module.server_label, alias)
    if added:
        text = "canary %s %s on %s" % (today, "would be published" if would else "published", where)
    else:
        text = "canary %s already present on %s" % (today, where)
    if removed:
        text += "; %d old canar%s %s" % (removed, "y" if removed == 1 else "ies",
                                         "would be removed" if would else "removed")
    return text + (" (check mode)" if would else "")


def _read_text(path):
    try:
        with open(path, "r") as handle:
            return handle.read()
    except (IOError, OSError):
        return ""


def _write_atomic(path, text):
    write_atomic(path, text.encode("utf-8"), 0o644, make_dirs=False)


def _check_options(p):
    """The ``state=checked`` options that Ansible's types do not check; raises ``ConfigError``."""
    try:
        publish_offset = parse_publish_time(p["publish_time"])
    except ValueError as err:
        raise ConfigError(str(err))
    if p["max_workers"] < 1 or p["endpoint_timeout"] <= 0 or p["wait_for_today"] < 0:
        raise ConfigError("max_workers must be >= 1, endpoint_timeout > 0 and wait_for_today >= 0")
    if p["warning_lag"] > p["critical_lag"]:
        raise ConfigError("warning_lag (%d) must not exceed critical_lag (%d)" % (p["warning_lag"], p["critical_lag"]))
    slo = parse_duration(p["latency_slo"], "latency_slo") if p["latency_slo"] not in (None, "") else None
    return publish_offset, slo


def _history(module, nodes, today):
    """This check's looks added to the history file's (or, without ``history_file``, this check's alone)."""
    path = module.params["history_file"]
    if not path:
        return this_check(nodes, today)
    try:
        history = load_history(_read_text(path))
    except ValueError as err:
        module.warn("history_file %s is not a canary history (%s); starting a new one" % (path, err))
        history = load_history("")
    return record_looks(history, nodes, today)


def _reference(p, options, today, publish_offset):
    """When today's canary was published, for the latency: ``since``; else, waiting for it, the start of the check;
    else, with a history file, the publish time of the day; else unknown."""
    if p["since"] is not None:
        return p["since"]
    if p["wait_for_today"]:
        return options.started
    if p["history_file"]:
        return date_start(today) + publish_offset
    return None


def checked(module, today):
    p = module.params
    publish_offset, slo = _check_options(p)
    timeout = min(float(p["timeout"]), float(p["endpoint_timeout"]))
    endpoints = _endpoints(p)  # every endpoint is checked before any client is built or anything sent
    clients = dict((e["name"], module.endpoint_client(e.pop("endpoint"), timeout=timeout)) for e in endpoints)
    started = time.time()
    subjects = _subjects(module)
    options = CheckOptions(salt=p["salt"] or None, today=today, request_resource=p["request_resource"],
                           request_action=p["request_action"], view=p["view"], publish_offset=publish_offset,
                           since=p["since"], wait_until=(started + p["wait_for_today"]) if p["wait_for_today"] else None,
                           started=started, subjects=subjects)
    workers = min(p["max_workers"], len(endpoints))
    batches = (len(endpoints) + workers - 1) // workers
    deadline = started + p["wait_for_today"] + p["endpoint_timeout"] * batches + 5
    nodes, downstream = _run_checks(p, endpoints, clients, options, workers, deadline, today)
    history = _history(module, nodes, today)
    now = time.time()
    stalled = _grade_nodes(p, nodes, downstream, endpoints, history, _reference(p, options, today, publish_offset),
                           slo, now, today)
    nagios = nagios_report(nodes, p["warning_lag"], p["critical_lag"], stalled)
    previous = previous_successes(_read_text(p["prometheus_file"])) if p["prometheus_file"] else {}
    prom = prometheus_text(nodes, now, previous, slo)
    written = False
    if p["prometheus_file"] and not module.check_mode:
        try:
            _write_atomic(p["prometheus_file"], prom)
            written = True
        except (IOError, OSError) as err:
            raise ConfigError("cannot write the Prometheus file %s: %s" % (p["prometheus_file"], err),
                              result=dict(nodes=nodes, nagios=nagios))
    history_written = False
    if p["history_file"] and not module.check_mode:
        try:
            _write_atomic(p["history_file"], dump_history(history))
            history_written = True
        except (IOError, OSError) as err:
            raise ConfigError("cannot write the history file %s: %s" % (p["history_file"], err),
                              result=dict(nodes=nodes, nagios=nagios))
    summary = dict((STATUS_NAMES[c], sum(1 for n in nodes if n["status_code"] == c))
                   for c in (OK, WARNING, CRITICAL, UNKNOWN))
    for node in nodes:
        node.setdefault("subjects", [])
    result = dict(changed=False, operations=[], nodes=nodes, summary=summary, nagios=nagios, prometheus=prom,
                  prometheus_written=written, thresholds={"warning_lag": p["warning_lag"],
                                                          "critical_lag": p["critical_lag"],
                                                          "strict_today": p["strict_today"],
                                                          "publish_time": p["publish_time"],
                                                          "latency_slo": slo,
                                                          "hop_allowance": p["hop_allowance"],
                                                          "extra_delay": p["extra_delay"]},
                  stalled_hops=stalled, history_written=history_written,
                  canary={"date": today, "dn": canary_dn(p["salt"], today) if p["salt"] else None,
                          "openssl": canary_openssl(p["salt"], today) if p["salt"] else None},
                  elapsed=round(time.time() - started, 3), checked_at=now, subjects=subjects)
    result["report_html_written"] = _write_report(module, result)
    worst = nagios["code"]
    limit = {"critical": CRITICAL, "warning": WARNING, "never": None}[p["fail_on"]]
    if limit is not None and (worst >= limit):
        raise CheckFailed(nagios["text"].split(" | ")[0] + ": " + "; ".join(
            "%s: %s" % (n["name"], "; ".join(n["problems"])) for n in nodes if n["status_code"] != OK), result=result)
    module.exit_json(**result)


def _run_checks(p, endpoints, clients, options, workers, deadline, today):
    """``(nodes, downstream)``: every endpoint checked in parallel (an endpoint without an answer by the deadline
    becomes a node with an ``error``), then the export check of the nodes others pull from."""
    results = {}
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers)
    try:
        futures = dict((pool.submit(_safe_check, e, clients[e["name"]], options), e["name"]) for e in endpoints)
        try:
            for future in concurrent.futures.as_completed(futures, timeout=max(0.1, deadline - time.time())):
                results[futures[future]] = future.result()
        except concurrent.futures.TimeoutError:
            pass
        nodes = []
        for endpoint in endpoints:
            node = results.get(endpoint["name"])
            if node is None:
                node = {"name": endpoint["name"], "host": endpoint["host"], "port": endpoint["port"],
                        "url": endpoint["url"], "today": today,
                        "error": "no answer within %ss (endpoint_timeout)" % p["endpoint_timeout"]}
            nodes.append(node)
        # Nodes other checked nodes pull from must serve the canary downstream too.
        downstream = downstream_names([n for n in nodes if not n.get("error")] or [])
        exporters = [n for n, e in zip(nodes, endpoints)
                     if not n.get("error") and (e["exports"] if e["exports"] is not None else downstream.get(n["name"]))]
        export_futures = dict((pool.submit(add_export_check, n, clients[n["name"]], options), n["name"])
                              for n in exporters)
        try:
            for future in concurrent.futures.as_completed(export_futures,
                                                          timeout=max(0.1, deadline + p["endpoint_timeout"] - time.time())):
                future.result()
        except concurrent.futures.TimeoutError:
            for future, name in export_futures.items():
                if not future.done():
                    node = next(n for n in nodes if n["name"] == name)
                    node["export"] = {"decision": "unknown", "denied": False, "text": "export check timed out"}
                    node["effective_deny"] = False
    finally:
        pool.shutdown(wait=False)
    return nodes, downstream


def _grade_nodes(p, nodes, downstream, endpoints, history, reference, slo, now, today):
    """Delay budgets, latencies, worst-case bounds, the status of each node (Nagios code and problems) and its
    downstream nodes; returns the stalled hops."""
    compute_budgets([n for n in nodes if not n.get("error")], p["hop_allowance"], p["extra_delay"])
    for node in nodes:
        node.setdefault("downstream", downstream.get(node["name"], []))
    apply_latency(nodes, history, today, reference)
    apply_bounds(nodes, endpoints, p["extra_delay"])
    stalled = stalled_hops(nodes, p["hop_allowance"], p["since"], now)
    below = stall_problems(nodes, stalled)
    for node in nodes:
        if node.get("lag_min_seconds") is not None and node.get("budget_seconds") is not None:
            node["within_budget"] = node["lag_min_seconds"] <= node["budget_seconds"]
        code, problems = node_status(node, p["warning_lag"], p["critical_lag"], strict_today=p["strict_today"])
        findings = slo_problems(node, slo)
        if node.get("stalled_upstream"):
            findings = below.get(node["name"], []) + findings
        else:
            problems.extend(below.get(node["name"], []))  # information: the hop above it stalled
        node["latency_problems"] = findings
        if findings:
            code = max(code, WARNING)
            problems.extend(findings)
        node["status_code"] = code
        node["status"] = STATUS_NAMES[code]
        node["problems"] = problems
        node.setdefault("effective_deny", False)
    return stalled


def _subjects(module):
    """The subject DNs to check on every node, as given (refused when they are not DNs)."""
    subjects = []
    for text in module.params["subjects"] or []:
        try:
            parse_dn(text)
        except GridsecError as err:
            raise ConfigError("subjects: %s" % err)
        subjects.append(text)
    return subjects


def _write_report(module, result):
    """Render report_html from the result (never in check mode); returns whether it was written."""
    path = module.params["report_html"]
    if not path or module.check_mode:
        return False
    try:
        _write_atomic(path, render_report(result, module.params["report_title"]))
    except (IOError, OSError) as err:
        raise ConfigError("cannot write the HTML report %s: %s" % (path, err), result=result)
    return True


def _safe_check(endpoint, client, options):
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary import check_endpoint
    try:
        node, _data = check_endpoint(endpoint, client, options)
    except Exception as exc:  # a bug or an unexpected reply must not hide the other nodes
        node = {"name": endpoint["name"], "host": endpoint["host"], "port": endpoint["port"], "url": endpoint["url"],
                "today": options.today, "error": "%s: %s" % (type(exc).__name__, exc)}
    return node


def main():
    module = ArgusModule(
        argument_spec=dict(
            state=dict(type="str", choices=["published", "checked"], required=True),
            salt=dict(type="str", no_log=True),
            date=dict(type="str"),
            alias=dict(type="str", default="default"),
            keep_days=dict(type="int", default=7, no_log=False),
            endpoints=dict(type="list", elements="dict", default=[], options=dict(
                name=dict(type="str"),
                host=dict(type="str", required=True),
                port=dict(type="int", default=8150),
                path=dict(type="str", default="/pap/services"),
                exports=dict(type="bool"),
                pdp_retention_interval=dict(type="float"),
                pepd_cached_response_ttl=dict(type="float"),
            )),
            max_workers=dict(type="int", default=16),
            endpoint_timeout=dict(type="float", default=30),
            view=dict(type="str", choices=["pdp", "composed"], default="pdp"),
            request_resource=dict(type="str"),
            request_action=dict(type="str"),
            publish_time=dict(type="str", default="00:00"),
            since=dict(type="float"),
            wait_for_today=dict(type="float", default=0),
            warning_lag=dict(type="int", default=43200),
            critical_lag=dict(type="int", default=86400),
            hop_allowance=dict(type="float", default=60),
            extra_delay=dict(type="float", default=0),
            prometheus_file=dict(type="path"),
            fail_on=dict(type="str", choices=["critical", "warning", "never"], default="critical"),
            strict_today=dict(type="bool", default=False),
            subjects=dict(type="list", elements="str", default=[]),
            report_html=dict(type="path"),
            report_title=dict(type="str", default="Propagation of the canary and the suspensions"),
            history_file=dict(type="path"),
            latency_slo=dict(type="str"),
        ),
        required_if=[("state", "published", ["salt"])],
        supports_check_mode=True,
    )
    module.run_guarded(run, module)


def run(module):
    """The module body; any ``GridsecError`` (typed input checks included) fails the task at the base."""
    p = module.params
    try:
        today = check_date(p["date"]) if p["date"] else utc_date()
    except ValueError as err:
        raise ConfigError("invalid date: %s" % err)
    if p["state"] == "published":
        if not p["salt"]:
            raise ConfigError("salt must not be empty with state=published")
        if p["keep_days"] < 0:
            raise ConfigError("keep_days must be >= 0")
        if not p["alias"]:
            raise ConfigError("alias must not be empty")
        published(module, today)
    else:
        checked(module, today)


if __name__ == "__main__":
    main()
