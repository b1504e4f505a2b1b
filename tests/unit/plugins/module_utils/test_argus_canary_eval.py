# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Unit tests of _argus.canary: the canary format and hash, the first-applicable evaluation of a PDP view, the
lag bookkeeping of one endpoint check, budgets, Nagios and Prometheus rendering."""
import hashlib
import re

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import acl as A
from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary as C
from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary_format as F
from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary_metrics as M
from ansible_collections.gridsec.ops.plugins.module_utils._argus import pdp as P
from ansible_collections.gridsec.ops.plugins.module_utils import _errors as E
from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import (
    Attribute,
    PapPolicyTree,
    Policy,
    PolicySet,
    Rule,
)
from ansible_collections.gridsec.ops.plugins.module_utils._dn import dn_equal

# The probe's own regex (ARGUS.md 11.1), copied verbatim: what we publish must match it.
PROBE_RE = re.compile(r"CN=(?P<hash>[0-9a-f]{8}), CN=(?P<date>[0-9]{8}), CN=Test Subject, CN=000001, CN=tsubject, "
                      r"OU=Users, OU=Organic Units, DC=cern, DC=ch")
SALT = "s3cret"
DATE = "20261201"


# ---- format ---------------------------------------------------------------------------------------------

def test_hash_is_sha256_of_salt_then_date_first_8_lowercase_hex():
    expected = hashlib.sha256(b"s3cret20261201").hexdigest()[:8]
    assert F.canary_hash(SALT, DATE) == expected
    assert F.canary_hash(SALT, DATE) != hashlib.sha256(b"20261201s3cret").hexdigest()[:8]
    assert re.match(r"^[0-9a-f]{8}$", F.canary_hash(SALT, DATE))
    assert F.canary_hash(b"s3cret", DATE) == expected


def test_published_form_is_what_the_probe_matches():
    dn = F.canary_dn(SALT, DATE)
    match = PROBE_RE.match(dn)
    assert match and match.group("hash") == F.canary_hash(SALT, DATE) and match.group("date") == DATE
    assert dn.endswith("DC=cern, DC=ch")
    openssl = F.canary_openssl(SALT, DATE)
    assert openssl == ("/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=tsubject/CN=000001/CN=Test Subject/CN=%s/CN=%s"
                       % (DATE, F.canary_hash(SALT, DATE)))
    assert dn_equal(dn, openssl)


@pytest.mark.parametrize("value,salt,expected", [
    (F.canary_dn(SALT, DATE), SALT, {"date": DATE, "hash_valid": True}),
    (F.canary_dn(SALT, DATE).replace(", ", ","), SALT, {"date": DATE, "hash_valid": True}),
    (F.canary_openssl(SALT, DATE), SALT, {"date": DATE, "hash_valid": True}),
    (F.canary_dn(SALT, DATE), "other", {"date": DATE, "hash_valid": False}),
    (F.canary_dn(SALT, DATE), None, {"date": DATE, "hash_valid": None}),
    (F.canary_dn(SALT, DATE), "", {"date": DATE, "hash_valid": None}),
])
def test_parse_canary(value, salt, expected):
    parsed = F.parse_canary(value, salt)
    assert parsed is not None
    assert dict((k, parsed[k]) for k in expected) == expected


@pytest.mark.parametrize("value", [
    None, "", "CN=Jane Doe,DC=org",
    F.canary_dn(SALT, DATE).upper(),  # upper-case hex is not the format
    F.canary_dn(SALT, DATE) + ", DC=evil",
    "CN=aaaaaaaa, CN=20261131, " + ", ".join(F.CANARY_TAIL),  # 31 November does not exist
    "CN=1234567, CN=20261201, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, DC=cern, DC=ch",
])
def test_not_a_canary(value):
    assert F.parse_canary(value, SALT) is None


@pytest.mark.parametrize("bad", ["2026-12-01", "20261301", "2026120", "", "today"])
def test_check_date_refuses(bad):
    with pytest.raises(ValueError):
        F.check_date(bad)


def test_dates():
    assert F.shift_date("20260301", -1) == "20260228"
    assert F.date_start("19700102") == 86400
    assert F.utc_date(86400 * 365) == "19710101"


# ---- evaluation -----------------------------------------------------------------------------------------

CANARY = F.canary_dn(SALT, DATE)


def rule(effect, *attrs):
    return Rule("rule-%s-%d" % (effect, len(attrs)) + "-".join(v for _a, v in attrs)[:20], effect,
                [Attribute(a, v) for a, v in attrs])


def tree_of(*policies, **kw):
    """One alias tree: root -> one resource PolicySet (kw resource, default .*) -> the policies given."""
    resource = kw.get("resource", ".*")
    alias = kw.get("alias", "default")
    tree = PapPolicyTree(alias, None)
    ps = PolicySet("%s-ps" % alias, "1", resource, [("policy", p.policy_id) for p in policies])
    tree.root = PolicySet("%s-root" % alias, "0", None, [("policyset", ps.policy_set_id)])
    tree.policy_sets = {tree.root.policy_set_id: tree.root, ps.policy_set_id: ps}
    tree.policies = dict((p.policy_id, p) for p in policies)
    return tree


def policy(pid, *rules, **kw):
    return Policy(pid, "1", kw.get("action", ".*"), list(rules))


def decide(tree, resource=None, action=None):
    return P.evaluate(tree, C.canary_request(CANARY, resource, action))


def test_plain_deny_denies_whatever_the_dn_form():
    result = decide(tree_of(policy("public_a", rule("Deny", ("subject", CANARY.replace(", ", ","))))))
    assert result["decision"] == "deny" and result["denied"]


def test_permit_for_a_vo_before_the_deny_may_permit():
    tree = tree_of(policy("public_p", rule("Permit", ("vo", "dteam"))),
                   policy("public_d", rule("Deny", ("subject", CANARY))))
    result = decide(tree)
    assert result["decision"] == "maybe-permit" and not result["denied"]
    assert result["attributes"] == [{"id": "vo", "value": "dteam"}]


def test_permit_for_another_dn_does_not_apply():
    tree = tree_of(policy("public_p", rule("Permit", ("subject", "/DC=org/CN=Someone Else"))),
                   policy("public_d", rule("Deny", ("subject", CANARY))))
    assert decide(tree)["decision"] == "deny"


def test_rule_order_inside_a_policy_is_first_applicable():
    tree = tree_of(policy("public_x", rule("Permit", ("subject", CANARY)), rule("Deny", ("subject", CANARY))))
    assert decide(tree)["decision"] == "permit"
    tree = tree_of(policy("public_x", rule("Deny", ("subject", CANARY)), rule("Permit", ("subject", CANARY))))
    assert decide(tree)["decision"] == "deny"


def test_compound_deny_is_not_a_guaranteed_deny():
    tree = tree_of(policy("public_d", rule("Deny", ("subject", CANARY), ("fqan", "/dteam"))))
    result = decide(tree)
    assert result["decision"] == "not-applicable" and not result["denied"] and result["maybe_denies"] == 1


def test_resource_and_action_targets():
    tree = tree_of(policy("public_d", rule("Deny", ("subject", CANARY))), resource="ce.example.org")
    assert decide(tree)["decision"] == "not-applicable"  # any resource: the ban may not apply
    assert decide(tree, resource="ce.example.org")["decision"] == "deny"
    assert decide(tree, resource="other.example.org")["decision"] == "not-applicable"
    tree = tree_of(policy("public_d", rule("Deny", ("subject", CANARY)), action="submit"))
    assert decide(tree)["decision"] == "not-applicable"
    assert decide(tree, action="submit-job")["decision"] == "deny"


def test_policy_referenced_as_a_policy_set():
    """The PAP query's fresh root references top-level policies with PolicySetIdReference (ARGUS.md 2.5)."""
    deny = policy("public_d", rule("Deny", ("subject", CANARY)))
    tree = PapPolicyTree("pap", PolicySet("root", "0", None, [("policyset", "public_d")]))
    tree.policy_sets = {"root": tree.root}
    tree.policies = {"public_d": deny}
    assert decide(tree)["decision"] == "deny"


def test_empty_and_missing_trees():
    assert decide(None)["decision"] == "not-applicable"
    assert decide(PapPolicyTree("x", None))["decision"] == "not-applicable"
    tree = tree_of(policy("public_d", rule("Deny", ("subject", CANARY))))
    tree.policies = {}  # dangling references are skipped
    assert decide(tree)["decision"] == "not-applicable"


def _paps(*specs):
    return [Pap(alias, local=(alias == "default"), enabled=enabled, public=True) for alias, enabled in specs]


def test_merged_view_follows_the_pap_order_and_enabled_flags():
    local = tree_of(policy("public_p", rule("Permit", ("vo", "dteam"))), alias="default")
    central = tree_of(policy("public_d", rule("Deny", ("subject", CANARY))), alias="central")
    trees = {"default": local, "central": central}
    paps = _paps(("default", True), ("central", True))

    view, roots = P.merged_view(paps, A.effective_order(["central", "default"], [p.alias for p in paps]), trees)
    result = P.evaluate(view, C.canary_request(CANARY), P.alias_labeller(roots))
    assert result["decision"] == "deny" and result["alias"] == "central"

    # the ordering pitfall: upstream after default, with a local permit
    view, roots = P.merged_view(paps, A.effective_order(["default", "central"], [p.alias for p in paps]), trees)
    result = P.evaluate(view, C.canary_request(CANARY), P.alias_labeller(roots))
    assert result["decision"] == "maybe-permit" and result["alias"] == "default"

    # no order at all: default is first
    assert A.effective_order([], [p.alias for p in paps]) == ["default", "central"]

    # a disabled upstream never reaches the PDP
    paps = _paps(("default", True), ("central", False))
    view, _roots = P.merged_view(paps, ["central", "default"], trees)
    assert P.evaluate(view, C.canary_request(CANARY))["decision"] == "maybe-permit"


# ---- one endpoint, with a fake client and clock ---------------------------------------------------------

class FakeClient(object):
    """Answers like a PAP whose central alias receives today's canary at the ``arrive``-th look."""

    def __init__(self, arrive):
        self.arrive = arrive
        self.looks = 0
        self.operations = []
        self.paps = _paps(("default", True), ("central", True))
        self.paps[1].hostname, self.paps[1].port = "central.example.org", 8150

    def get_all_paps(self):
        self.looks += 1
        self.operations.append("getAllPaps")
        return self.paps

    def get_order(self):
        return ["central", "default"]

    def get_polling_interval(self):
        return 300.0

    def policy_query(self, pdp=False):
        raise E.AuthorizationError("no remote read", operation="XACMLPolicyQuery")

    def get_tree(self, alias):
        if alias == "central" and self.looks >= self.arrive:
            return tree_of(policy("public_d", rule("Deny", ("subject", CANARY))), alias="central")
        return tree_of(alias=alias)


class FakeClock(object):
    def __init__(self, start):
        self.now = start

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def test_check_endpoint_waits_and_bounds_the_lag():
    start = F.date_start(DATE) + 3600
    clock = FakeClock(start)
    options = C.CheckOptions(salt=SALT, today=DATE, since=start - 10, wait_until=start + 60, wait_step=5,
                             started=start, clock=clock, sleep=clock.sleep)
    node, data = C.check_endpoint({"name": "site", "host": "site.example.org", "port": 8150}, FakeClient(3), options)
    assert node["error"] is None and data["view"] == "composed"
    assert node["today_present"] and node["newest_alias"] == "central"
    assert node["effective_deny"]
    # seen at the third look (t = start + 10); absent at the second (t = start + 5): arrival in (since+15, since+20]
    assert node["lag_seconds"] == 20 and node["lag_min_seconds"] == 15
    assert node["errors"] == {"XACMLPolicyQuery": "operation XACMLPolicyQuery: no remote read"}


def test_check_endpoint_gives_up_and_reports_the_missing_day():
    start = F.date_start(DATE) + 7200
    clock = FakeClock(start)
    options = C.CheckOptions(salt=SALT, today=DATE, wait_until=start + 12, wait_step=5, started=start,
                             clock=clock, sleep=clock.sleep)
    node, _data = C.check_endpoint({"name": "site", "host": "h", "port": 8150}, FakeClient(99), options)
    assert not node["today_present"] and node["newest"] is None
    assert node["lag_seconds"] == 7200 + 12
    code, problems = C.node_status(node, 3600, 86400)
    assert code == F.CRITICAL and problems == ["no canary found"]


# ---- status, budgets, output ----------------------------------------------------------------------------

def _node(name, **kw):
    node = {"name": name, "host": name, "port": 8150, "error": None, "newest": CANARY, "newest_date": DATE,
            "today": DATE, "today_present": True, "effective": {"denied": True}, "export": None,
            "effective_deny": True, "lag_seconds": 0, "remotes": [], "poll_interval": 300.0}
    node.update(kw)
    return node


def test_node_status():
    assert C.node_status(_node("a"), 10, 20) == (F.OK, [])
    assert C.node_status(_node("a", lag_seconds=15, today_present=False), 10, 20)[0] == F.WARNING
    assert C.node_status(_node("a", lag_seconds=25, today_present=False), 10, 20)[0] == F.CRITICAL
    assert C.node_status(_node("a", error="refused"), 10, 20) == (F.UNKNOWN, ["check failed: refused"])
    code, problems = C.node_status(_node("a", effective={"denied": False, "text": "may be PERMITTED"}), 10, 20)
    assert code == F.CRITICAL and "would not deny" in problems[0]
    code, problems = C.node_status(_node("a", export={"denied": False, "text": "no rule"}), 10, 20)
    assert code == F.CRITICAL and "not re-exported" in problems[0]
    code, problems = C.node_status(_node("a", newest=None, invalid_hash=["x"]), 10, 20)
    assert code == F.CRITICAL and "wrong salt" in problems[0]


def remote(host):
    return {"hostname": host, "port": 8150, "enabled": True}


def test_budgets_follow_the_pull_chain():
    nodes = [_node("central"), _node("ngi", remotes=[remote("central")], poll_interval=600.0),
             _node("site", remotes=[remote("NGI.")], poll_interval=3600.0),
             _node("orphan", remotes=[remote("elsewhere")], poll_interval=60.0)]
    C.compute_budgets(nodes, 30, 100)
    budgets = dict((n["name"], (n["budget_seconds"], n["budget_complete"])) for n in nodes)
    assert budgets == {"central": (100, True), "ngi": (730, True), "site": (4360, True), "orphan": (190, False)}
    assert C.downstream_names(nodes) == {"central": ["ngi"], "ngi": ["site"], "site": [], "orphan": []}


def test_nagios_and_prometheus_output():
    nodes = [_node("site a", status_code=F.OK, status="OK", problems=[]),
             _node('b"x', status_code=F.CRITICAL, status="CRITICAL", problems=["no canary found"], newest=None,
                   effective_deny=False, lag_seconds=None)]
    report = M.nagios_report(nodes, 3600, 7200)
    assert report["code"] == F.CRITICAL
    first, rest = report["text"].split("\n", 1)
    assert first.startswith("ARGUS CANARY CRITICAL - 1 critical (b\"x) of 2 nodes | ")
    assert "'site_a_lag'=0s;3600;7200;0" in first and "'b_x_deny'=0;;;0;1" in first
    assert rest.splitlines() == ["site a: OK - today's canary present and denied", 'b"x: CRITICAL - no canary found']
    text = M.prometheus_text(nodes, 1000.5, previous={'b"x': 900.0})
    assert 'argus_canary_effective_deny{node="site a"} 1' in text
    assert 'argus_canary_effective_deny{node="b\\"x"} 0' in text
    assert 'argus_canary_last_success_timestamp_seconds{node="site a"} 1000.5' in text
    assert 'argus_canary_last_success_timestamp_seconds{node="b\\"x"} 900' in text
    assert M.previous_successes(text) == {"site a": 1000.5, 'b"x': 900.0}
    assert M.nagios_report([], 1, 2)["code"] == F.UNKNOWN
