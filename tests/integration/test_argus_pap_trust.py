# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Integration tests of argus_pap against the lab PAP (issue 6: results that must not lie).

Each test runs one playbook of tests/integration/playbooks/argus_pap_*.yml (which holds the asserts) against a
fresh lab PAP; some also check the PAP state a second, independent way.
"""
import pytest

from test_argus_modules import conn, run_playbook


def _dead_port(url):
    return int(url.split(":")[2].split("/")[0])


def test_update_keeps_unmentioned_fields(argus_pap, argus_dead_url, tmp_path):
    """1.1: `paps: [{alias: central, enabled: true}]` does not reset public/port/path to the option defaults."""
    run_playbook("argus_pap_update_keeps.yml",
                 {"conn": conn(argus_pap, argus_pap.pap), "dead_port": _dead_port(argus_dead_url)}, tmp_path)


def test_incomplete_order_refused_and_order_kept_across_remove(argus_pap, argus_dead_url, tmp_path):
    """1.2: an incomplete order is refused or completed explicitly; remote after default warns; removePap of an
    alias outside the ordering does not leave 'default' first."""
    run_playbook("argus_pap_order.yml",
                 {"conn": conn(argus_pap, argus_pap.pap), "dead_port": _dead_port(argus_dead_url)}, tmp_path)


def test_failed_automatic_refresh_warns_and_is_retried(argus_pap, argus_dead_url, tmp_path):
    """1.7: the refresh after addPap fails (upstream down): warning, change kept, retried on the next run."""
    run_playbook("argus_pap_refresh_retry.yml",
                 {"conn": conn(argus_pap, argus_pap.pap), "dead_port": _dead_port(argus_dead_url)}, tmp_path)


def test_check_mode_predicts_permission_refusal(argus_pap, argus_dead_url, tmp_path):
    """1.12: with CONFIGURATION_READ but no CONFIGURATION_WRITE, check mode fails like the real run would, with
    the PAP's own refusal text; the message is also compared with what the PAP answers to a raw addPap."""
    pap = argus_pap.pap
    expected = ("PAP localhost:%d, operation addPap: SOAP fault: PAPAuthzException: Insufficient privileges to "
                "perform operation 'AddPapOperation'." % pap.port)
    _assert_pap_refuses_add_pap_with(argus_pap, expected)
    run_playbook("argus_pap_permissions.yml",
                 {"reader_conn": conn(argus_pap, pap, "reader"), "dead_port": _dead_port(argus_dead_url),
                  "expected_add": expected}, tmp_path)


def _assert_pap_refuses_add_pap_with(lab, expected):
    """What the collection's client reports when the PAP itself refuses addPap to the reader credential."""
    from ansible_collections.gridsec.ops.plugins.module_utils._argus.client import Pap, PapClient
    from ansible_collections.gridsec.ops.plugins.module_utils._errors import AuthorizationError
    from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport

    reader = lab.creds["reader"]
    label = "localhost:%d" % lab.pap.port
    transport = HttpTransport("https://%s/pap/services" % label, server_label=label, client_cert=reader.cert,
                              client_key=reader.key, ca_path=lab.ca_dir)
    client = PapClient(transport, server_label=label)
    with pytest.raises(AuthorizationError) as info:
        client.add_pap(Pap("upstream", dn="/DC=test/CN=upstream", hostname="localhost", port=1,
                           path="/pap/services/", protocol="https"))
    assert str(info.value) == expected


def test_pap_host_url_is_a_validation_error(argus_pap, tmp_path):
    """Section 2: `pap_host: https://...` fails validation clearly, without naming a wire operation."""
    run_playbook("argus_pap_validation.yml", {"conn": conn(argus_pap, argus_pap.pap)}, tmp_path)
