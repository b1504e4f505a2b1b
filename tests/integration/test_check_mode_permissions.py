# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Issue 14, item 20: check mode predicts no write that the credential may not do.

The lab PAP's ``reader`` credential may read policies and the ACL but not write; a second client certificate
(issued by the lab PKI, granted POLICY_READ_LOCAL only) cannot even read the ACL. The playbook holds the
asserts on the module results; this file also reads the PAP back with a hand-written envelope.
"""
from test_argus_modules import DN_JANE, conn, raw_list_rules, run_playbook


def test_read_only_credential_fails_in_check_mode_like_the_real_run(argus_pap, tmp_path):
    lab, pap = argus_pap, argus_pap.pap
    policy_reader = lab.pki.user("item20-policy-reader")
    list_file = tmp_path / "list.txt"
    list_file.write_text(DN_JANE + "\n")
    extravars = {
        "admin_conn": conn(lab, pap), "reader_conn": conn(lab, pap, "reader"),
        "policy_reader_conn": dict(conn(lab, pap), client_cert=policy_reader.cert, client_key=policy_reader.key),
        "policy_reader_dn": policy_reader.dn, "subject": DN_JANE, "list_file": str(list_file),
        "state_dir": str(tmp_path / "state"),
    }
    run_playbook("check_mode_write_permission.yml", extravars, tmp_path)
    assert raw_list_rules(lab, pap) == []  # neither the check runs nor the refused real runs wrote anything
