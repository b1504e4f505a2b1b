# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Status rules of the canary check and the lint's fail_on (issue 14 items 7 and 10), without a PAP."""
import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary as C
from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary_format as F
from ansible_collections.gridsec.ops.plugins.module_utils._argus import canary_metrics as M
from ansible_collections.gridsec.ops.plugins.module_utils._argus import lint as L
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_report import render
from ansible_collections.gridsec.ops.plugins.module_utils._report_html import esc


def node(**values):
    item = {"name": "n", "error": None, "newest": "CN=...", "newest_date": "20261206", "today": "20261207",
            "today_present": False, "effective_deny": True, "effective": {"denied": True, "text": "denied"},
            "lag_seconds": 7200, "future_dates": [], "publish_overdue": False}
    item.update(values)
    return item


def test_newest_canary_is_never_after_today():
    canaries = [{"date": "20261208", "hash_valid": True}, {"date": "20261206", "hash_valid": True}]
    assert C.newest_canary(canaries, True, not_after="20261207")["date"] == "20261206"
    assert C.newest_canary(canaries, True)["date"] == "20261208"


@pytest.mark.parametrize("values,strict,code", [
    ({}, False, F.OK),
    ({}, True, F.CRITICAL),
    ({"publish_overdue": True}, False, F.WARNING),
    ({"future_dates": ["20261208"]}, False, F.WARNING),
    ({"today_present": True, "newest_date": "20261207", "lag_seconds": 0}, True, F.OK),
])
def test_node_status(values, strict, code):
    assert C.node_status(node(**values), 43200, 86400, strict_today=strict)[0] == code


def test_ok_summary_says_what_is_true():
    nodes = [node(name="a"), node(name="b", today_present=True, lag_seconds=0), node(name="c", lag_seconds=3600)]
    assert M.ok_summary(nodes, 43200) == ("today's canary not yet seen on 2/3 nodes, lag 2 h of a 12 h budget; "
                                          "3/3 nodes deny their newest canary (20261206)")
    assert M.ok_summary([node(today_present=True)], 43200) == "1/1 nodes deny today's canary"


@pytest.mark.parametrize("fail_on,failing", [
    (["error"], ["error"]),
    (["warning"], ["error", "warning"]),
    (["never"], []),
    ([], []),
    (["error", "remote_cache_empty"], ["error", "warning"]),
    (["info"], ["error", "warning", "info"]),
])
def test_fail_on(fail_on, failing):
    findings = [{"check": "open_acl", "severity": "error"}, {"check": "remote_cache_empty", "severity": "warning"},
                {"check": "tier", "severity": "info"}]
    predicate = L.failing_filter(fail_on)
    assert [f["severity"] for f in findings if predicate(f)] == failing


def test_fail_on_unknown_item():
    with pytest.raises(ValueError, match="unknown severity or check errror"):
        L.failing_filter(["errror"])


def test_report_escapes_and_states_export():
    result = {"checked_at": 0, "canary": {"date": "20261207"}, "subjects": ['<b>"x"</b>'],
              "nodes": [node(name="<i>r</i>", status="CRITICAL", today_present=True, effective_deny=False,
                             export={"denied": False, "text": "no rule applies"})]}
    page = render(result, title="a & b")
    assert "<i>" not in page and "<b>&quot;" not in page and esc("<i>r</i>") in page
    assert "1970-01-01 00:00:00 UTC" in page
    assert "its PDPs deny the canary, but what it serves downstream does not" in page
