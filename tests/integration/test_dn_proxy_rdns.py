# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Proxy RDNs (issue 14 item 1, contract C2): a DN ending in a number is a person's DN unless told otherwise.

``.../CN=Eve Mallory/CN=777`` used to be banned as ``.../CN=Eve Mallory``, silently, so the person was not banned
at all (and someone else may have been). ``argus_policy`` now strips only the legacy proxy CNs by default
(``CN=proxy``, ``CN=limited proxy``), numeric RFC 3820 CNs only with ``strip_proxy_rdns: all``, and says what it
stripped (``stripped_rdns`` and a warning). The PAP's rules are read back with the lab's independent client.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _hardening import argus_conn, pap_rules, run_module  # noqa: E402 pylint: disable=wrong-import-position
from test_argus_policy_trust import DN_PLAIN  # noqa: E402 pylint: disable=wrong-import-position

SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"
EVE = "/DC=test/DC=gridsec/OU=Users/CN=Eve Mallory/CN=777"
EVE_STORED = "CN=777,CN=Eve Mallory,OU=Users,DC=gridsec,DC=test"
EVE_STRIPPED = "CN=Eve Mallory,OU=Users,DC=gridsec,DC=test"


def subjects(lab):
    return [value for _effect, attrs in pap_rules(lab, lab.pap) for attr_id, value in attrs if attr_id == SUBJECT_ID]


def warnings_of(result):
    out = []
    for warning in result.get("warnings", []):
        out.append(warning if isinstance(warning, str) else str(warning))
    return out


def ban(tmp_path, lab, **args):
    return run_module(tmp_path, "argus_policy", args, argus_conn(lab, lab.pap.port), "argus")


def test_a_dn_ending_in_a_number_is_banned_exactly_as_given_by_default(argus_pap, tmp_path):
    lab = argus_pap
    result = ban(tmp_path, lab, subjects=[EVE])
    assert result.get("failed") is not True and result["changed"] is True, result
    assert subjects(lab) == [EVE_STORED]
    assert result["stripped_rdns"] == []
    assert not [w for w in warnings_of(result) if "proxy component" in w]
    # and the unban with the same DN removes exactly that rule
    result = ban(tmp_path, lab, subjects=[EVE], state="absent")
    assert result["changed"] is True and subjects(lab) == []


def test_strip_all_removes_the_numeric_cn_and_says_so(argus_pap, tmp_path):
    lab = argus_pap
    result = ban(tmp_path, lab, subjects=[EVE], strip_proxy_rdns="all")
    assert result["changed"] is True, result
    assert subjects(lab) == [EVE_STRIPPED]
    assert result["stripped_rdns"] == [{"input": EVE, "subject": "/DC=test/DC=gridsec/OU=Users/CN=Eve Mallory",
                                        "stripped": ["CN=777"]}]
    assert [w for w in warnings_of(result) if "CN=777" in w and "proxy component" in w]


def test_legacy_proxy_cns_are_stripped_by_default_and_reported(argus_pap, tmp_path):
    lab = argus_pap
    proxy = DN_PLAIN + "/CN=proxy"
    limited = DN_PLAIN + "/CN=limited proxy"
    result = ban(tmp_path, lab, subjects=[proxy, limited])
    assert result["changed"] is True, result
    assert subjects(lab) == ["CN=Jane Doe,OU=Users,DC=gridsec,DC=test"]
    assert result["stripped_rdns"] == [{"input": proxy, "subject": DN_PLAIN, "stripped": ["CN=proxy"]},
                                       {"input": limited, "subject": DN_PLAIN, "stripped": ["CN=limited proxy"]}]
    assert len([w for w in warnings_of(result) if "proxy component" in w]) == 2
    # strip_proxy_rdns: none (or the old false) keeps them: check mode predicts the proxy DN as given
    kept = run_module(tmp_path, "argus_policy", {"subjects": [proxy], "strip_proxy_rdns": False},
                      argus_conn(lab, lab.pap.port), "argus", check=True)
    assert kept["changed"] is True and kept["stripped_rdns"] == []
    assert [op["args"]["value"] for op in kept["operations"]] == ["CN=proxy,CN=Jane Doe,OU=Users,DC=gridsec,DC=test"]
