# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Canary DN, PDP-view evaluation and canary/lint checks of Argus PAPs.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

* The canary DN of the central suspension team (the regex of the EGI probe ARGOeu-Metrics/secmon-probes
  ``argus-ban``): RFC 2253 with ``", "`` separators,
  ``CN=<hash8>, CN=<YYYYMMDD>, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, DC=cern,
  DC=ch`` where ``hash8`` is the first 8 lowercase hex digits of SHA-256(salt bytes + date bytes).
* ``evaluate()``: a small first-applicable evaluator of what a PDP receives (argus-pap ProvisioningService:
  the enabled PAPs' trees in PAP order under a first-applicable root).
  Attributes of the request that are not known (FQAN, VO, issuer...) are *unknown*: a Permit whose other
  attributes are unknown "may apply", a Deny only fires when every attribute of its rule is known to match.
  The result is therefore "denied whatever else the request carries", which is what a ban must guarantee.
* ``check_node()``: what the canary check does on one PAP; ``lint_node()``: the configuration lint.
* Nagios and Prometheus text renderers.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import hashlib
import re
import time

from ansible_collections.gridsec.ops.plugins.module_utils._argus_acl import (
    PERMISSIONS,
    WRITE_PERMISSIONS,
    ace_from_key,
    effective_order,
    remote_after_default,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import (
    ACTION_ID,
    RESOURCE_ID,
    X500NAME,
    PapPolicyTree,
    PolicySet,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import same_stored_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError, GridsecError

CANARY_TAIL = ["CN=Test Subject", "CN=000001", "CN=tsubject", "OU=Users", "OU=Organic Units", "DC=cern", "DC=ch"]
_TAIL_RE = r",\s?".join(re.escape(part) for part in CANARY_TAIL)
# The probe's regex (re.match, ", " separators); "," (what a PAP stores for slash-form input) is accepted too.
CANARY_RE = re.compile(r"CN=(?P<hash>[0-9a-f]{8}),\s?CN=(?P<date>[0-9]{8}),\s?" + _TAIL_RE + r"\s*$")
CANARY_SLASH_RE = re.compile(r"/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=tsubject/CN=000001/CN=Test Subject/"
                             r"CN=(?P<date>[0-9]{8})/CN=(?P<hash>[0-9a-f]{8})\s*$")

SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
DAY = 86400

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
STATUS_CODES = dict((v, k) for k, v in STATUS_NAMES.items())


# ---------------------------------------------------------------------------------------------------------
# Canary format
# ---------------------------------------------------------------------------------------------------------

def check_date(date):
    """``YYYYMMDD`` string of a real calendar date, else ValueError."""
    text = str(date).strip()
    if not re.match(r"^[0-9]{8}$", text):
        raise ValueError("date %r is not of the form YYYYMMDD" % (date,))
    datetime.datetime.strptime(text, "%Y%m%d")
    return text


def utc_date(timestamp=None):
    """``YYYYMMDD`` of a POSIX time (now by default) in UTC."""
    return time.strftime("%Y%m%d", time.gmtime(time.time() if timestamp is None else timestamp))


def date_start(date):
    """POSIX time of 00:00 UTC of ``date`` (YYYYMMDD)."""
    return calendar.timegm(datetime.datetime.strptime(check_date(date), "%Y%m%d").timetuple())


def parse_publish_time(text):
    """Seconds after 00:00 UTC of ``HH:MM`` (the time of day the central team publishes the canary)."""
    parts = str(text or "").strip().split(":")
    if len(parts) != 2 or not all(x.isdigit() for x in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise ValueError("publish_time must be HH:MM (UTC), not %r" % (text,))
    return int(parts[0]) * 3600 + int(parts[1]) * 60


def shift_date(date, days):
    day = datetime.datetime.strptime(check_date(date), "%Y%m%d") + datetime.timedelta(days=days)
    return day.strftime("%Y%m%d")


def canary_hash(salt, date):
    """First 8 lowercase hex digits of SHA-256(salt || date)."""
    if isinstance(salt, bytes):
        salt_bytes = salt
    else:
        salt_bytes = str(salt).encode("utf-8")
    return hashlib.sha256(salt_bytes + check_date(date).encode("ascii")).hexdigest()[:8]


def canary_dn(salt, date):
    """The canary as the probe expects it stored: RFC 2253 with ``", "`` separators (stored verbatim by a PAP)."""
    date = check_date(date)
    return ", ".join(["CN=%s" % canary_hash(salt, date), "CN=%s" % date] + CANARY_TAIL)


def canary_openssl(salt, date):
    date = check_date(date)
    return "/" + "/".join(list(reversed(CANARY_TAIL)) + ["CN=%s" % date, "CN=%s" % canary_hash(salt, date)])


def parse_canary(value, salt=None):
    """``{"date", "hash", "hash_valid"}`` when ``value`` has the canary format, else None.

    ``hash_valid`` is True/False with a salt, None without (format-only, as the probe allows). A format match
    with an impossible date (20261341) is not a canary.
    """
    if value is None:
        return None
    text = str(value).strip()
    match = CANARY_RE.match(text) or CANARY_SLASH_RE.match(text)
    if match is None:
        return None
    try:
        date = check_date(match.group("date"))
    except ValueError:
        return None
    valid = None
    if salt is not None and salt != "":
        valid = canary_hash(salt, date) == match.group("hash")
    return {"date": date, "hash": match.group("hash"), "hash_valid": valid}


def find_canaries(tree, salt=None, alias=None):
    """Every canary-shaped x500Name subject value in ``tree`` (whatever the rule effect, like the probe)."""
    found = []
    for policy_set, policy, rule in tree.iter_rules():
        for attribute in rule.attributes:
            if attribute.datatype != X500NAME or attribute.element != "subject":
                continue
            parsed = parse_canary(attribute.value, salt)
            if parsed is None:
                continue
            parsed.update(alias=alias,
                          value=attribute.value, effect=rule.effect.lower(), policy_id=policy.policy_id,
                          rule_id=rule.rule_id, resource=policy_set.resource, action=policy.action,
                          plain=len(rule.attributes) == 1)
            found.append(parsed)
    return found


def _counts(item, require_valid):
    if require_valid and item["hash_valid"] is not True:
        return False
    return item["hash_valid"] is not False


def newest_canary(canaries, require_valid, not_after=None):
    """The canary with the latest date (a valid hash when ``require_valid``), none dated after ``not_after``:
    a canary dated after today is never today's (nor the newest)."""
    best = None
    for item in canaries:
        if not _counts(item, require_valid):
            continue
        if not_after is not None and item["date"] > not_after:
            continue
        if best is None or item["date"] > best["date"]:
            best = item
    return best


# ---------------------------------------------------------------------------------------------------------
# First-applicable evaluation of a policy tree (what a PDP does with what it receives)
# ---------------------------------------------------------------------------------------------------------

YES, MAYBE, NO = 2, 1, 0
_UNIVERSAL = frozenset([".*", "^.*$", ".*$", "^.*", "(.*)", "^(.*)$", ".*.*"])


def _regexp_match(pattern, value):
    if pattern is None:
        return YES
    if pattern in _UNIVERSAL:
        return YES
    if value is None:
        return MAYBE
    try:
        return YES if re.search(pattern, value) else NO
    except re.error:
        return MAYBE


def _attribute_match(attribute, request):
    """YES/NO when the request says, MAYBE for an attribute the request does not carry."""
    if attribute.xacml_id == RESOURCE_ID:
        return _regexp_match(attribute.value, request.get("resource"))
    if attribute.xacml_id == ACTION_ID:
        return _regexp_match(attribute.value, request.get("action"))
    known = request.get("attributes") or {}
    key = attribute.attribute_id_spl
    if key not in known and attribute.xacml_id not in known:
        return MAYBE
    wanted = known.get(key, known.get(attribute.xacml_id))
    values = wanted if isinstance(wanted, (list, tuple)) else [wanted]
    for value in values:
        if attribute.datatype == X500NAME:
            if same_stored_dn(attribute.value, value):
                return YES
        elif attribute.value == value:
            return YES
    return NO


def _target_level(attributes, request):
    level = YES
    for attribute in attributes:
        level = min(level, _attribute_match(attribute, request))
        if level == NO:
            return NO
    return level


def _set_attributes(policy_set):
    attrs = list(policy_set.target_attributes)
    if policy_set.resource is not None:
        from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import Attribute
        attrs.insert(0, Attribute("resource", policy_set.resource))
    return attrs


def _policy_attributes(policy):
    attrs = list(policy.target_attributes)
    if policy.action is not None:
        from ansible_collections.gridsec.ops.plugins.module_utils._argus_xacml import Attribute
        attrs.insert(0, Attribute("action", policy.action))
    return attrs


def evaluate(tree, request, label_of=None):
    """Walk ``tree`` first-applicable and return what decides for ``request``.

    ``request``: ``{"resource": str|None, "action": str|None, "attributes": {spl_id: value|[values]}}``
    (None resource/action = any). Returns a dict: ``decision`` (``deny``, ``permit``, ``maybe-permit`` or
    ``not-applicable``), ``denied`` (True only for a definite Deny before any rule that may permit),
    ``rule_id``, ``policy_id``, ``policy_set_path`` (ids from the root), ``alias`` (``label_of(path)``),
    ``maybe_denies`` (Deny rules that would fire only for some requests, passed on the way).
    """
    result = {"decision": "not-applicable", "denied": False, "rule_id": None, "policy_id": None,
              "policy_set_path": [], "alias": None, "maybe_denies": 0, "effect": None, "attributes": []}
    if tree is None or tree.root is None:
        return result

    def finish(decision, path, policy, rule):
        result.update(decision=decision, denied=decision == "deny", rule_id=rule.rule_id,
                      policy_id=policy.policy_id, policy_set_path=list(path), effect=rule.effect.lower(),
                      attributes=[{"id": a.attribute_id_spl, "value": a.value} for a in rule.attributes])
        if label_of is not None:
            result["alias"] = label_of(path)
        return True

    def walk(policy_set, path, level, seen):
        level = min(level, _target_level(_set_attributes(policy_set), request))
        if level == NO:
            return False
        path = path + [policy_set.policy_set_id]
        for kind, ref in policy_set.references:
            if kind == "policyset" and ref not in tree.policy_sets and ref in tree.policies:
                kind = "policy"  # the PAP query's root references policies with PolicySetIdReference
            if kind == "policyset":
                child = tree.policy_sets.get(ref)
                if child is None or ref in seen:
                    continue
                if walk(child, path, level, seen | frozenset([ref])):
                    return True
                continue
            policy = tree.policies.get(ref)
            if policy is None:
                continue
            plevel = min(level, _target_level(_policy_attributes(policy), request))
            if plevel == NO:
                continue
            for rule in policy.rules:
                rlevel = min(plevel, _target_level(rule.attributes, request))
                if rule.condition is not None and rlevel == YES:
                    rlevel = MAYBE
                if rlevel == NO:
                    continue
                if rule.deny:
                    if rlevel == YES:
                        return finish("deny", path, policy, rule)
                    result["maybe_denies"] += 1
                else:
                    return finish("permit" if rlevel == YES else "maybe-permit", path, policy, rule)
        return False

    walk(tree.root, [], YES, frozenset([tree.root.policy_set_id]))
    return result


def merged_view(paps, order, trees):
    """A PDP view composed like the PAP does for its PDPs: enabled PAPs' trees in order under one root.

    ``paps``: [Pap], ``order``: effective order, ``trees``: {alias: PapPolicyTree}. Returns (tree, {root id: alias}).
    """
    view = PapPolicyTree("pdp", None)
    references = []
    roots = {}
    by_alias = dict((p.alias, p) for p in paps)
    for alias in order:
        pap = by_alias.get(alias)
        tree = trees.get(alias)
        if pap is None or not pap.enabled or tree is None or tree.root is None:
            continue
        root_id = "%s (%s)" % (tree.root.policy_set_id, alias)
        root = PolicySet(root_id, tree.root.version, tree.root.resource, tree.root.references)
        view.policy_sets.update(tree.policy_sets)
        view.policy_sets[root_id] = root
        view.policies.update(tree.policies)
        references.append(("policyset", root_id))
        roots[root_id] = alias
    view.root = PolicySet("root (composed)", "0", None, references)
    view.policy_sets[view.root.policy_set_id] = view.root
    return view, roots


# ---------------------------------------------------------------------------------------------------------
# /pap/status
# ---------------------------------------------------------------------------------------------------------

def status_url(base_url):
    """``https://host:port/pap/status`` from a services base URL ``https://host:port/pap/services``."""
    head = base_url.split("://", 1)
    rest = head[1] if len(head) == 2 else head[0]
    hostport = rest.split("/", 1)[0]
    return "%s://%s/pap/status" % (head[0] if len(head) == 2 else "https", hostport)


def read_status(client):
    """The ``key: value`` lines of ``/pap/status`` (argus-pap MonitoredProperties) as a dict."""
    transport = client.transport
    reply = transport.request("GET", status_url(transport.base_url), operation="GET /pap/status")
    status, body = _reply_status_body(reply)
    if status != 200:
        raise GridsecError("HTTP %s" % status, server=client.label, operation="GET /pap/status")
    values = {}
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else str(body)
    for line in text.splitlines():
        if ":" in line:
            key, value = line.split(":", 1)
            values[key.strip()] = value.strip()
    return values


def _reply_status_body(reply):
    if isinstance(reply, tuple):
        return reply[0], reply[-1]
    return getattr(reply, "status", None), getattr(reply, "body", b"")


# ---------------------------------------------------------------------------------------------------------
# One node of the canary check
# ---------------------------------------------------------------------------------------------------------

def _pap_summary(pap):
    port = pap.port
    try:
        port = int(port) if port not in (None, "") else None
    except (TypeError, ValueError):
        pass
    return {"alias": pap.alias, "local": bool(pap.local), "enabled": bool(pap.enabled), "public": bool(pap.public),
            "hostname": pap.hostname, "port": port}


def _alias_labeller(roots):
    def label(path):
        for psid in path:
            if psid in roots:
                return roots[psid]
        return None
    return label


def fetch_node(client, view="pdp", exports=False, want_status=False, all_trees=False):
    """Read what the checks need from one PAP. Returns a dict (raises GridsecError when the PAP list fails)."""
    data = {"errors": {}}
    paps = client.get_all_paps()
    data["paps"] = paps
    try:
        order = client.get_order()
    except GridsecError as err:
        data["errors"]["getOrder"] = str(err)
        order = []
    data["order"] = effective_order(order or [], [p.alias for p in paps])
    try:
        data["poll_interval"] = client.get_polling_interval()
    except GridsecError as err:
        data["errors"]["getPollingInterval"] = str(err)
        data["poll_interval"] = None
    pdp_tree = None
    roots = {}
    trees = {}
    if view == "pdp":
        try:
            pdp_tree = client.policy_query(pdp=True)
            ids = dict((p.id, p.alias) for p in paps if p.id)
            if pdp_tree.root is not None:
                for kind, ref in pdp_tree.root.references:
                    if kind == "policyset" and ref in ids:
                        roots[ref] = ids[ref]
        except AuthorizationError as err:
            data["errors"]["XACMLPolicyQuery"] = str(err)
            pdp_tree = None
    in_view = set(roots.values())
    for pap in paps:
        if pdp_tree is not None and pap.alias in in_view and not all_trees:
            continue
        try:
            trees[pap.alias] = client.get_tree(pap.alias)
        except GridsecError as err:  # like the probe: an alias that cannot be read is skipped
            data["errors"]["alias %s" % pap.alias] = str(err)
    if pdp_tree is None:
        pdp_tree, roots = merged_view(paps, data["order"], trees)
        data["view"] = "composed"
    else:
        data["view"] = "pdp"
    data["pdp_tree"] = pdp_tree
    data["roots"] = roots
    data["trees"] = trees
    data["export_tree"] = None
    if exports:
        try:
            data["export_tree"] = client.policy_query(pdp=False)
        except GridsecError as err:
            data["errors"]["XACMLPolicyQuery (PAP query)"] = str(err)
    if want_status:
        try:
            data["status"] = read_status(client)
        except GridsecError as err:
            data["errors"]["GET /pap/status"] = str(err)
            data["status"] = None
    return data


def canary_request(value, resource=None, action=None):
    return {"resource": resource, "action": action, "attributes": {"subject": value}}


def _where(result):
    """'policy P, alias A', leaving out the alias when the view does not say which one it came from."""
    if result.get("alias") is None:
        return "policy %s" % result["policy_id"]
    return "policy %s, alias %s" % (result["policy_id"], result["alias"])


def _decision_text(result):
    if result["decision"] == "deny":
        return "denied by rule %s (%s)" % (result["rule_id"], _where(result))
    if result["decision"] in ("permit", "maybe-permit"):
        attrs = ", ".join("%s = %s" % (a["id"], a["value"]) for a in result["attributes"]) or "anyone"
        return "%s by rule %s { %s } (%s) before any deny" % (
            "PERMITTED" if result["decision"] == "permit" else "may be PERMITTED", result["rule_id"], attrs,
            _where(result))
    return "no rule applies (NotApplicable): the ban does not fire"


def analyse_canary(data, salt, today, request_resource=None, request_action=None):
    """The canary part of a node result from ``fetch_node`` data."""
    canaries = []
    label = _alias_labeller(data["roots"])
    if data["view"] == "pdp":
        for item in find_canaries(data["pdp_tree"], salt):
            item["alias"] = _alias_of_policy(data["pdp_tree"], item["policy_id"], data["roots"])
            canaries.append(item)
    for alias, tree in data["trees"].items():
        canaries.extend(find_canaries(tree, salt, alias=alias))
    has_salt = salt not in (None, "")
    newest = newest_canary(canaries, require_valid=has_salt, not_after=today)
    result = {
        "canaries": [dict((k, c[k]) for k in ("alias", "date", "hash", "hash_valid", "effect", "value", "resource",
                                              "action", "policy_id", "rule_id")) for c in canaries],
        "invalid_hash": sorted(set(c["value"] for c in canaries if c["hash_valid"] is False)),
        "newest": None, "newest_date": None, "newest_alias": None, "today": today, "today_present": False,
        "future_dates": sorted(set(c["date"] for c in canaries if c["date"] > today and _counts(c, has_salt))),
    }
    if newest is not None:
        result.update(newest=newest["value"], newest_date=newest["date"], newest_alias=newest["alias"],
                      today_present=newest["date"] == today)
    # Would the node actually deny today's (else the newest) canary?
    value = newest["value"] if newest is not None else None
    if value is not None:
        decision = evaluate(data["pdp_tree"], canary_request(value, request_resource, request_action), label)
        result["effective"] = dict(decision, text=_decision_text(decision))
        if data.get("export_tree") is not None:
            exported = evaluate(data["export_tree"], canary_request(value, request_resource, request_action))
            result["export"] = dict(exported, text=_decision_text(exported))
        else:
            result["export"] = None
    else:
        result["effective"] = None
        result["export"] = None
    result["effective_deny"] = bool(result["effective"] and result["effective"]["denied"]
                                    and (result["export"] is None or result["export"]["denied"]))
    return result


def _aliases_holding(data, dn):
    """Aliases (local and cached remote) with a rule on the subject ``dn`` (any effect)."""
    aliases = set()
    views = list(data["trees"].items())
    if data["view"] == "pdp":
        views.append((None, data["pdp_tree"]))
    for alias, tree in views:
        for _ps, policy, rule in tree.iter_rules():
            for attribute in rule.attributes:
                if (attribute.datatype == X500NAME and attribute.element == "subject"
                        and same_stored_dn(attribute.value, dn)):
                    aliases.add(alias or _alias_of_policy(tree, policy.policy_id, data["roots"]))
    return sorted(a for a in aliases if a)


def check_subjects(data, subjects, request_resource=None, request_action=None):
    """For each DN of ``subjects``: where a node stores a rule on it and what its PDP view decides (like the canary).

    A subject that is not denied does not change the node's status (it may have been unbanned on purpose)."""
    label = _alias_labeller(data["roots"])
    result = []
    for dn in subjects or []:
        decision = evaluate(data["pdp_tree"], canary_request(dn, request_resource, request_action), label)
        aliases = _aliases_holding(data, dn)
        result.append({"dn": dn, "present": bool(aliases), "aliases": aliases, "denied": decision["denied"],
                       "effective": dict(decision, text=_decision_text(decision)), "export": None})
    return result


def _alias_of_policy(tree, policy_id, roots):
    """Alias whose per-PAP root (in a merged tree) leads to ``policy_id``."""
    for root_id, alias in roots.items():
        stack = [root_id]
        seen = set()
        while stack:
            psid = stack.pop()
            if psid in seen:
                continue
            seen.add(psid)
            ps = tree.policy_sets.get(psid)
            if ps is None:
                continue
            for kind, ref in ps.references:
                if kind == "policy" and ref == policy_id:
                    return alias
                if kind == "policyset":
                    stack.append(ref)
    return None


# ---------------------------------------------------------------------------------------------------------
# Status of a checked node, delay budget
# ---------------------------------------------------------------------------------------------------------

def node_status(node, warning_lag, critical_lag, strict_today=False):
    """(status code, [problems]) of one checked node.

    Without ``strict_today`` a node still on an older canary is OK while its lag (time since today's canary was
    due) is below ``warning_lag``; with it (the probe's ``--today``) a node without today's canary is CRITICAL.
    """
    problems = []
    if node.get("error"):
        return UNKNOWN, ["check failed: %s" % node["error"]]
    code = OK
    if node.get("future_dates"):
        problems.append("canary dated after %s present (%s): never counted as today's; the publisher's clock or "
                        "date is wrong" % (node.get("today"), ", ".join(node["future_dates"])))
        code = WARNING
    if node.get("newest") is None:
        if node.get("invalid_hash"):
            problems.append("no canary with a valid hash (%d with a wrong hash: wrong salt?)"
                            % len(node["invalid_hash"]))
        else:
            problems.append("no canary found")
        return CRITICAL, problems
    effective = node.get("effective") or {}
    if not effective.get("denied"):
        problems.append("the canary is present but the node would not deny it: %s" % effective.get("text"))
        code = CRITICAL
    export = node.get("export")
    if export is not None and not export.get("denied"):
        problems.append("the canary is present but not re-exported to downstream PAPs: %s" % export.get("text"))
        code = CRITICAL
    lag = node.get("lag_seconds")
    if lag is not None:
        if critical_lag is not None and lag >= critical_lag:
            problems.append("lag %ds >= critical threshold %ds" % (lag, critical_lag))
            code = max(code, CRITICAL)
        elif warning_lag is not None and lag >= warning_lag:
            problems.append("lag %ds >= warning threshold %ds" % (lag, warning_lag))
            code = max(code, WARNING)
    if not node.get("today_present"):
        problems.append("today's canary (%s) not present; newest is %s" % (node.get("today"), node.get("newest_date")))
        if node.get("publish_overdue"):
            problems.append("this is where the canary is published (no remote PAP) and today's was due at %s: "
                            "the publication failed or is late" % _utc_text(node.get("due_at")))
            code = max(code, WARNING)
        if strict_today:
            problems.append("strict_today: a node without today's canary is CRITICAL")
            code = CRITICAL
    return code, problems


def _utc_text(timestamp):
    if timestamp is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def format_seconds(value):
    """A duration for people: ``-`` when unknown, else s / min s / h min (``12 h``, ``2 h 5 min``)."""
    if value is None:
        return "-"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return str(value)
    if seconds < 60:
        return "%g s" % round(seconds, 1)
    whole = int(round(seconds))
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return "%d min" % minutes if not rest else "%d min %d s" % (minutes, rest)
    hours, rest = divmod(whole, 3600)
    return "%d h" % hours if rest < 60 else "%d h %d min" % (hours, rest // 60)


def _norm_host(host):
    host = (host or "").lower().rstrip(".")
    return "localhost" if host in ("127.0.0.1", "::1", "localhost") else host


def compute_budgets(nodes, hop_allowance, extra_delay):
    """Delay budget of every node: for each hop from a node upstream in ``nodes`` (matched by host:port of the
    node's enabled remote PAPs), the pulling node's poll interval + ``hop_allowance``; + ``extra_delay``.

    Sets ``budget_seconds``, ``budget_complete`` (False when an upstream is not among the checked nodes or a
    poll interval is unknown) and ``upstreams`` (names) on each node.
    """
    by_endpoint = {}
    for node in nodes:
        by_endpoint[(_norm_host(node["host"]), int(node["port"]))] = node
    memo = {}

    def budget(node, stack):
        name = node["name"]
        if name in memo:
            return memo[name]
        if name in stack:
            return (0.0, False)
        stack = stack | frozenset([name])
        remotes = [r for r in node.get("remotes") or [] if r.get("enabled")]
        if not remotes:
            memo[name] = (0.0, True)
            return memo[name]
        interval = node.get("poll_interval")
        complete = interval is not None
        hop = float(interval or 0.0) + float(hop_allowance)
        best = 0.0
        for remote in remotes:
            try:
                key = (_norm_host(remote.get("hostname")), int(remote.get("port") or 8150))
            except (TypeError, ValueError):
                key = None
            upstream = by_endpoint.get(key)
            if upstream is None:
                complete = False
                continue
            up_budget, up_complete = budget(upstream, stack)
            complete = complete and up_complete
            best = max(best, up_budget)
        memo[name] = (best + hop, complete)
        return memo[name]

    for node in nodes:
        value, complete = budget(node, frozenset())
        node["budget_seconds"] = round(value + float(extra_delay), 3)
        node["budget_complete"] = complete
        node["upstreams"] = []
        for remote in node.get("remotes") or []:
            try:
                key = (_norm_host(remote.get("hostname")), int(remote.get("port") or 8150))
            except (TypeError, ValueError):
                continue
            if key in by_endpoint:
                node["upstreams"].append(by_endpoint[key]["name"])
    return nodes


def downstream_names(nodes):
    """{node name: [names of checked nodes that pull from it]}."""
    by_endpoint = dict(((_norm_host(n["host"]), int(n["port"])), n["name"]) for n in nodes)
    result = dict((n["name"], []) for n in nodes)
    for node in nodes:
        for remote in node.get("remotes") or []:
            try:
                key = (_norm_host(remote.get("hostname")), int(remote.get("port") or 8150))
            except (TypeError, ValueError):
                continue
            if key in by_endpoint:
                result[by_endpoint[key]].append(node["name"])
    return result


# ---------------------------------------------------------------------------------------------------------
# Nagios and Prometheus
# ---------------------------------------------------------------------------------------------------------

def _perf_label(name):
    label = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    return label


def nagios_report(nodes, warning_lag, critical_lag):
    """{code, status, text, perfdata, summary}: plugin semantics (first line status + perfdata, long text)."""
    if not nodes:
        return {"code": UNKNOWN, "status": "UNKNOWN", "summary": "no endpoints checked", "perfdata": "",
                "text": "ARGUS CANARY UNKNOWN - no endpoints checked"}
    worst = max(n["status_code"] for n in nodes)
    by_status = {}
    for node in nodes:
        by_status.setdefault(node["status_code"], []).append(node["name"])
    if worst == OK:
        summary = ok_summary(nodes, warning_lag)
    else:
        parts = []
        for code in (CRITICAL, UNKNOWN, WARNING):
            names = by_status.get(code) or []
            if names:
                shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
                parts.append("%d %s (%s)" % (len(names), STATUS_NAMES[code].lower(), shown))
        summary = "%s of %d nodes" % ("; ".join(parts), len(nodes))
    perf = []
    for node in nodes:
        label = _perf_label(node["name"])
        if node.get("lag_seconds") is not None:
            perf.append("'%s_lag'=%ds;%s;%s;0" % (
                label, node["lag_seconds"], "" if warning_lag is None else int(warning_lag),
                "" if critical_lag is None else int(critical_lag)))
        perf.append("'%s_deny'=%d;;;0;1" % (label, 1 if node.get("effective_deny") else 0))
    long_lines = []
    for node in nodes:
        detail = "; ".join(node.get("problems") or []) or "today's canary present and denied"
        long_lines.append("%s: %s - %s" % (node["name"], node["status"], detail))
    status = STATUS_NAMES[worst]
    first = "ARGUS CANARY %s - %s" % (status, summary)
    text = first + " | " + " ".join(perf) + "\n" + "\n".join(long_lines)
    return {"code": worst, "status": status, "summary": summary, "perfdata": " ".join(perf), "text": text}


def ok_summary(nodes, warning_lag):
    """What an all-OK check really saw: today's canary everywhere, or how many nodes are still on an older one and
    the lag against the budget (``warning_lag``). extras/check_argus_canary words it the same way."""
    missing = [n for n in nodes if not n.get("today_present")]
    if not missing:
        return "%d/%d nodes deny today's canary" % (len(nodes), len(nodes))
    lag = max([n.get("lag_seconds") or 0 for n in missing] or [0])
    dates = sorted(set(n.get("newest_date") for n in missing if n.get("newest_date")))
    return "today's canary not yet seen on %d/%d nodes, lag %s of a %s budget; %d/%d nodes deny their newest " \
           "canary (%s)" % (len(missing), len(nodes), format_seconds(lag), format_seconds(warning_lag),
                            len(nodes), len(nodes), ", ".join(dates) or "none")


def _label_value(value):
    return str(value).replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


PROM_METRICS = (
    ("argus_canary_up", "gauge", "1 when the PAP answered the canary check"),
    ("argus_canary_today_present", "gauge", "1 when today's canary is present on the node"),
    ("argus_canary_effective_deny", "gauge", "1 when the node's PDP view denies the canary (and its export does)"),
    ("argus_canary_lag_seconds", "gauge", "propagation lag of the canary on the node"),
    ("argus_canary_newest_age_seconds", "gauge", "age of the newest valid canary on the node"),
    ("argus_canary_budget_seconds", "gauge", "delay budget computed for the node"),
    ("argus_canary_publish_overdue", "gauge",
     "1 when the node publishes the canary (no remote PAP) and today's is missing after the publish time"),
    ("argus_canary_status", "gauge", "Nagios status code of the node (0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)"),
    ("argus_canary_last_success_timestamp_seconds", "gauge", "last time the node passed the check"),
)

_PROM_LINE = re.compile(r'^argus_canary_last_success_timestamp_seconds\{node="((?:[^"\\]|\\.)*)"\}\s+(\S+)')


def previous_successes(text):
    """{node: timestamp} from an earlier textfile (so a failing node keeps its last success time)."""
    result = {}
    for line in (text or "").splitlines():
        match = _PROM_LINE.match(line.strip())
        if match:
            name = match.group(1).replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")
            try:
                result[name] = float(match.group(2))
            except ValueError:
                continue
    return result


def prometheus_text(nodes, now, previous=None):
    """Textfile-collector exposition of the node results (text format 0.0.4)."""
    previous = previous or {}
    samples = dict((m[0], []) for m in PROM_METRICS)
    for node in nodes:
        labels = '{node="%s"}' % _label_value(node["name"])
        up = 0 if node.get("error") else 1
        samples["argus_canary_up"].append((labels, up))
        samples["argus_canary_status"].append((labels, node["status_code"]))
        if up:
            samples["argus_canary_today_present"].append((labels, 1 if node.get("today_present") else 0))
            samples["argus_canary_effective_deny"].append((labels, 1 if node.get("effective_deny") else 0))
            if node.get("origin"):
                samples["argus_canary_publish_overdue"].append((labels, 1 if node.get("publish_overdue") else 0))
        if node.get("lag_seconds") is not None:
            samples["argus_canary_lag_seconds"].append((labels, node["lag_seconds"]))
        if node.get("newest_age_seconds") is not None:
            samples["argus_canary_newest_age_seconds"].append((labels, node["newest_age_seconds"]))
        if node.get("budget_seconds") is not None:
            samples["argus_canary_budget_seconds"].append((labels, node["budget_seconds"]))
        last = now if node["status_code"] == OK else previous.get(node["name"])
        if last is not None:
            samples["argus_canary_last_success_timestamp_seconds"].append((labels, last))
    lines = []
    for name, kind, help_text in PROM_METRICS:
        lines.append("# HELP %s %s" % (name, help_text))
        lines.append("# TYPE %s %s" % (name, kind))
        for labels, value in samples[name]:
            lines.append("%s%s %s" % (name, labels, _number(value)))
    lines.append("# HELP argus_canary_check_timestamp_seconds time of this canary check")
    lines.append("# TYPE argus_canary_check_timestamp_seconds gauge")
    lines.append("argus_canary_check_timestamp_seconds %s" % _number(now))
    return "\n".join(lines) + "\n"


def _number(value):
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    value = float(value)
    if value.is_integer():
        return str(int(value))
    return repr(round(value, 3))


# ---------------------------------------------------------------------------------------------------------
# The canary check of one endpoint (runs in a worker thread)
# ---------------------------------------------------------------------------------------------------------

class CheckOptions(object):
    """What every endpoint check shares."""

    def __init__(self, salt=None, today=None, request_resource=None, request_action=None, view="pdp",
                 publish_offset=0, since=None, wait_until=None, wait_step=0.5, started=None, clock=None,
                 sleep=None, subjects=None):
        self.subjects = list(subjects or [])
        self.salt = salt
        self.today = today
        self.request_resource = request_resource
        self.request_action = request_action
        self.view = view
        self.publish_offset = publish_offset
        self.since = since
        self.wait_until = wait_until
        self.wait_step = wait_step
        self.clock = clock or time.time
        self.sleep = sleep or time.sleep
        self.started = started if started is not None else self.clock()


def check_endpoint(endpoint, client, options):
    """Check one PAP: returns the node result dict (``error`` set when the PAP could not be read)."""
    node = {"name": endpoint["name"], "host": endpoint["host"], "port": endpoint["port"], "url": endpoint.get("url"),
            "error": None, "errors": {}, "today": options.today}
    absent_seen = None  # start of the last look that did not find today's canary
    try:
        while True:
            look = options.clock()
            data = fetch_node(client, view=options.view)
            found = analyse_canary(data, options.salt, options.today, options.request_resource,
                                   options.request_action)
            observed = options.clock()
            if found["today_present"] or options.wait_until is None or observed >= options.wait_until:
                break
            absent_seen = look
            options.sleep(min(options.wait_step, max(0.0, options.wait_until - observed)))
    except GridsecError as err:
        node["error"] = str(err)
        node["requests"] = len(client.operations)
        return node, None
    node.update(found)
    node["checked_at"] = observed
    node["subjects"] = check_subjects(data, options.subjects, options.request_resource, options.request_action)
    node["errors"] = data["errors"]
    node["view"] = data["view"]
    node["paps"] = [_pap_summary(p) for p in data["paps"]]
    node["order"] = data["order"]
    node["remotes"] = [_pap_summary(p) for p in data["paps"] if not p.local]
    node["poll_interval"] = data["poll_interval"]
    now = options.clock()
    due = date_start(options.today) + options.publish_offset
    reference = options.since if options.since is not None else (
        options.started if options.wait_until is not None else None)
    if found["today_present"]:
        # The canary arrived between the last look that missed it (or the reference) and ``observed``:
        # lag_seconds is the upper bound, lag_min_seconds the lower bound of the propagation delay.
        node["observed_at"] = observed
        upper = 0.0 if reference is None else max(0.0, observed - reference)
        lower = 0.0 if reference is None or absent_seen is None else max(0.0, absent_seen - reference)
    else:
        node["observed_at"] = None
        upper = lower = max(0.0, now - max(due, options.since or 0))
    node["lag_seconds"] = int(upper)
    node["lag_min_seconds"] = round(lower, 3)
    node["due_at"] = due
    # A node without remote PAPs is where the canary is published (the central PAP): without today's canary
    # after the publish time, nothing below it can show today's propagation.
    node["origin"] = not node["remotes"]
    node["publish_overdue"] = bool(node["origin"] and not found["today_present"] and now >= due)
    node["newest_age_seconds"] = int(now - date_start(found["newest_date"])) if found["newest_date"] else None
    node["requests"] = len(client.operations)
    return node, data


def add_export_check(node, client, options):
    """Evaluate what a downstream PAP receives from ``node`` (PAP query); updates effective_deny."""
    if node.get("error") or node.get("newest") is None:
        return node
    try:
        tree = client.policy_query(pdp=False)
    except GridsecError as err:
        node["errors"]["XACMLPolicyQuery (PAP query)"] = str(err)
        node["export"] = {"decision": "unknown", "denied": False, "text": "export not readable: %s" % err}
        node["effective_deny"] = False
        return node
    exported = evaluate(tree, canary_request(node["newest"], options.request_resource, options.request_action))
    node["export"] = dict(exported, text=_decision_text(exported))
    for subject in node.get("subjects") or []:
        decision = evaluate(tree, canary_request(subject["dn"], options.request_resource, options.request_action))
        subject["export"] = dict(decision, text=_decision_text(decision))
    node["effective_deny"] = bool((node.get("effective") or {}).get("denied") and exported["denied"])
    return node


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
                "arrived within %ds" % (pap.alias, newest, _utc_text(due), grace),
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
    order = data["order"]
    remotes = [p for p in paps if not p.local]
    by_alias = dict((p.alias, p) for p in paps)
    if tier == "auto":
        tier = "site" if remotes else "central"
        findings.append(_finding("tier", "info", "tier not given: linted as a %s" % tier,
                                 "relay-only checks (re-export of the upstream) are skipped" if tier == "site" else
                                 "no upstream PAP is configured", "set tier: relay on NGI relays"))
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
    interval = data.get("poll_interval")
    if remotes and interval is not None and target_delay is not None and interval > target_delay:
        findings.append(_finding(
            "poll_interval_beyond_target", "warning",
            "polling interval %ds exceeds the target delay %ds" % (interval, target_delay),
            "a new central ban can take up to %ds to reach this PAP alone, before the PDP and PEP delays" % interval,
            "lower it: pap-admin set-polling-interval %d (and refresh-cache from cron)" % target_delay,
            poll_interval=interval))
    # Local permit rules that would decide before a central deny
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
            decision = evaluate(data["pdp_tree"], request, _alias_labeller(data["roots"]))
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
    findings.extend(lint_remote_freshness(remotes, data, stale_after, target_delay, now, publish_offset))
    status = data.get("status")
    if [p for p in remotes if p.enabled] and status:
        if status.get("NumberOfRemotePolicies") in ("0",):
            findings.append(_finding(
                "remote_cache_empty", "warning", "/pap/status reports NumberOfRemotePolicies: 0",
                "no cached upstream policy: no central ban is enforced", "check the pull (ACL upstream, refresh-cache)"))
    elif [p for p in remotes if p.enabled] and status is None:
        findings.append(_finding("status_unreadable", "info", "/pap/status could not be read",
                                 "the remote policy count was not checked", "allow access to /pap/status"))
    if acl is not None:
        findings.extend(lint_acl(acl))
    elif acl_error:
        findings.append(_finding("acl_unreadable", "info", "the ACL could not be read: %s" % acl_error,
                                 "open ACLs not checked", "grant CONFIGURATION_READ to the lint credential"))
    return findings, tier
