# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Fault injection: every networked module against a lab server behind ``gridsec_lab.faults.FaultProxy``.

For each module and each fault that applies to it, the expected outcome is written in ``EXPECTED`` below (today
every fault must end in a failed task whose message names the server and the operation; nothing is retried
after a reply arrived), and afterwards the server's state is read independently: the ban stored before is still
there, nothing was half-applied, the policy is not empty. The matrix faults x modules -> outcome is printed at the
end of the run (and kept in docs/reliability.md).
"""
import json
import os
import re

import psycopg
import pytest

from gridsec_lab import faults
from _hardening import (argus_conn, banned_values, letters, local_inventory, pap_rules, raw_ban, run_module,
                        run_tasks)

pytestmark = pytest.mark.slow

MATRIX = {}
DN_OLD = "/DC=test/DC=gridsec/OU=Users/CN=Already Banned"
ARGUS_OPS = ("listPolicies", "listPolicySets", "getRootPolicySet", "getPapOrder", "ban", "addPolicy", "updatePolicy",
             "getAllPaps", "getPap", "exists", "getPollingInterval", "setPollingInterval", "ping", "getACL",
             "getPolicy", "getPolicySet", "updatePolicySet", "addRule", "getOrder")


@pytest.fixture(scope="module", autouse=True)
def matrix_report(request):
    yield
    if not MATRIX:
        return
    faults_seen = sorted({f for f, _m in MATRIX})
    modules = sorted({m for _f, m in MATRIX})
    lines = ["", "fault matrix (fault x module -> outcome)", "| fault | " + " | ".join(modules) + " |",
             "|---|" + "---|" * len(modules)]
    for fault in faults_seen:
        lines.append("| %s | %s |" % (fault, " | ".join(MATRIX.get((fault, m), "n/a") for m in modules)))
    capture = request.config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\n".join(lines))


def _names_server_and_operation(result, label):
    msg = result.get("msg", "")
    assert label in msg, "the message does not name the server %s: %r" % (label, msg)
    assert any(op in msg for op in ARGUS_OPS + PANDA_OPS) or "operation" in msg or "commit" in msg, (
        "the message does not name the operation: %r" % msg)


# ---- Argus ------------------------------------------------------------------------------------------------

ARGUS_MODULES = {
    "argus_policy": lambda: {"subjects": ["/DC=test/DC=gridsec/OU=Users/CN=New %s" % letters(),
                                          "/DC=test/DC=gridsec/OU=Users/CN=Other %s" % letters()]},
    "argus_policy_info": lambda: {},
    "argus_pap": lambda: {"polling_interval": 17},
}
WRITE_OPS = {"argus_policy": "ban", "argus_pap": "setPollingInterval"}

# fault -> (proxy fault, params (callable(lab) -> dict), which modules, expected outcome, check on the message)
FIRST = "*"
TIMEOUT = r"(?i)time(d)? ?out|no reply .* within"


def _http(status, ctype, body, match=FIRST):
    return lambda ctx: {"rules": [(match, {"respond": (status, ctype, body)})]}


ARGUS_FAULTS = {
    "connection refused": ("refuse", lambda ctx: {}, r"(?i)refused|connect"),
    "reset on connect": ("reset", lambda ctx: {}, r"(?i)reset|connection|ssl|eof"),
    "read timeout (no TLS handshake)": ("hang", lambda ctx: {}, TIMEOUT),
    "read timeout (request sent)": ("http", lambda ctx: {"rules": [(FIRST, {"hang": True})]}, TIMEOUT),
    "HTTP 500 HTML page": ("http", _http(500, "text/html", faults.HTML_ERROR), r"500"),
    "HTTP 503": ("http", _http(503, "text/plain", b"Service Unavailable"), r"503"),
    "SOAP fault": ("http", _http(500, "text/xml", faults.soap_fault("java.lang.RuntimeException: injected")),
                   r"injected"),
    "truncated XML": ("http", _http(200, "text/xml", faults.TRUNCATED_XML), r"(?i)xml|pars|reply"),
    "malformed XML": ("http", _http(200, "text/xml", faults.MALFORMED_XML), r"(?i)xml|pars|reply"),
    "XML bomb": ("http", _http(200, "text/xml", faults.XML_BOMB), r"(?i)doctype|entit|dtd|xml"),
    "external entity": ("http", _http(200, "text/xml", faults.XXE), r"(?i)doctype|entit|dtd|xml"),
    "TLS untrusted CA": ("tls_cert", lambda ctx: {"server_cred": ctx["bad"]["untrusted"]},
                         r"(?i)certificate|verif|tls|ssl"),
    "TLS expired certificate": ("tls_cert", lambda ctx: {"server_cred": ctx["bad"]["expired"]},
                                r"(?i)certificate|expired|verif|tls|ssl"),
    "TLS wrong host name": ("tls_cert", lambda ctx: {"server_cred": ctx["bad"]["wrong_host"]},
                            r"(?i)certificate|host ?name|match|verif|tls|ssl"),
}
WRITE_FAULTS = {
    "reset mid-response (write)": lambda op: {"rules": [(op, {"reset_after": 40})]},
    "SOAP fault (write)": lambda op: {"rules": [(op, {"respond": (500, "text/xml", faults.soap_fault(
        "org.glite.authz.pap.repository.exceptions.RepositoryException: injected write failure"))})]},
}


@pytest.fixture(scope="module")
def bad_certs(argus_pki, tmp_path_factory):
    return faults.bad_certificates(argus_pki, str(tmp_path_factory.mktemp("bad-certs")))


def _argus_proxy(argus_pap, argus_pki):
    return faults.FaultProxy("127.0.0.1", argus_pap.pap.port, server_cred=argus_pki.host("fault-proxy"),
                             upstream_cred=argus_pap.creds["admin"], upstream_ca=argus_pap.ca_dir,
                             client_ca=argus_pap.ca_dir).start()


def _polling_interval(lab):
    from gridsec_lab.argus import rawclient
    reply = rawclient.call(lab.pap.service("PAPManagementService"), "getPollingInterval", [],
                           cred=lab.creds["admin"], ca_dir=lab.ca_dir)
    return "".join(reply.itertext()).strip()


def _argus_state(lab):
    return pap_rules(lab, lab.pap), _polling_interval(lab)


def _sync_args(state_dir, listfile, **extra):
    args = {"name": "faults", "state_dir": str(state_dir), "max_shrink_fraction": 1,
            "sources": [{"name": "list", "type": "plain", "path": str(listfile)}],
            "targets": [{"name": "pap", "type": "argus"}]}
    args.update(extra)
    return args


def _last_good(state_dir, name="faults"):
    """The sync's last good list (in ``<name>.state.json``) and per-source cache (``<name>.cache.json``): what a
    later run falls back on."""
    with open(os.path.join(str(state_dir), "%s.state.json" % name), encoding="utf-8") as handle:
        data = json.load(handle)
    with open(os.path.join(str(state_dir), "%s.cache.json" % name), encoding="utf-8") as handle:
        cache = json.load(handle)
    return data.get("last_good"), cache.get("sources")


def test_argus_faults(argus_pap, argus_pki, bad_certs, tmp_path):
    """Every Argus fault on its own proxy, all four Argus modules against each, in ONE playbook run: every task
    fails naming the server (the proxy's host:port) and the operation, with the fault's own reason; afterwards the
    PAP holds exactly what it held before (nothing written, the older ban and the sync's entries intact, the polling
    interval unchanged) and the sync's last good list and source cache are intact."""
    lab = argus_pap
    raw_ban(lab, lab.pap, DN_OLD)
    state_dir, listfile = tmp_path / "state", tmp_path / "list.txt"
    listfile.write_text("/DC=test/DC=gridsec/OU=Users/CN=Synced One\n")
    seed = run_module(tmp_path, "suspension_list_sync", _sync_args(state_dir, listfile), argus_conn(lab, lab.pap.port),
                      "argus")
    assert not seed.get("failed") and seed.get("changed"), seed.get("msg")
    seed_last_good = [e["value"] for e in _last_good(state_dir)[0]["entries"]]
    listfile.write_text("/DC=test/DC=gridsec/OU=Users/CN=Synced One\n/DC=test/DC=gridsec/OU=Users/CN=Synced Two\n")
    before = _argus_state(lab)
    modules = sorted(ARGUS_MODULES) + ["suspension_list_sync"]
    names = sorted(ARGUS_FAULTS)
    proxies = {}
    try:
        for fault in names:
            proxy_fault, params, _pattern = ARGUS_FAULTS[fault]
            proxies[fault] = _argus_proxy(lab, argus_pki)
            proxies[fault].set(proxy_fault, **params({"bad": bad_certs}))
        hosts = dict(("f%02d" % i, fault) for i, fault in enumerate(names))
        inventory = local_inventory(tmp_path, dict((host, {"fault_port": proxies[fault].port})
                                                   for host, fault in hosts.items()))
        tasks = [(m, _sync_args(state_dir, listfile) if m == "suspension_list_sync" else ARGUS_MODULES[m]())
                 for m in modules]
        proc = run_tasks(tmp_path, tasks, argus_conn(lab, lab.pap.port, retries=0, timeout=3), "argus",
                         inventory=inventory, host_args={"pap_port": "{{ fault_port }}"}, strategy="free",
                         extra_args=("-f", "7"), timeout=900)
    finally:
        for proxy in proxies.values():
            proxy.stop()
    problems = []
    for host, fault in sorted(hosts.items()):
        for module, result in zip(modules, proc.results.get(host) or [None] * len(modules)):
            why = _outcome_problem(result, "localhost:%d" % proxies[fault].port, ARGUS_FAULTS[fault][2])
            MATRIX[(fault, module)] = "fails, names server + operation" if not why else "WRONG: " + why
            if why:
                problems.append("%s / %s: %s" % (fault, module, why))
    after = _argus_state(lab)
    assert not problems, "\n".join(problems)
    # nothing was written (every fault hits before a write), the older ban and the synced entry are intact
    assert after == before
    assert "CN=Already Banned,OU=Users,DC=gridsec,DC=test" in banned_values(before[0])
    assert "CN=Synced One,OU=Users,DC=gridsec,DC=test" in banned_values(before[0])
    # the sync's cache of its source is what the source gave (read fine): a later use_cache falls back on it
    assert _last_good(state_dir)[1]["list"]["entries"][0]["value"].endswith("CN=Synced One")
    # and the last good list is still the seed's (no target holds what the faulted runs merged)
    assert [e["value"] for e in _last_good(state_dir)[0]["entries"]] == seed_last_good
    for fault in names:
        MATRIX[(fault, "suspension_list_sync")] += "; last good list kept"


def test_sync_failed_run_keeps_the_last_good_list(argus_pap, argus_dead_url, tmp_path):
    """A sync whose only target is down fails and leaves the last good list as it was (the shrink guard of the
    next run compares with what the targets really hold)."""
    lab = argus_pap
    state_dir, first, second = tmp_path / "state", tmp_path / "first.txt", tmp_path / "second.txt"
    first.write_text("/DC=test/DC=gridsec/OU=Users/CN=Synced One\n")
    second.write_text("/DC=test/DC=gridsec/OU=Users/CN=Synced Two\n")
    dead_port = int(argus_dead_url.split(":")[2].split("/")[0])
    proc = run_tasks(tmp_path, [("suspension_list_sync", _sync_args(state_dir, first)),
                                ("suspension_list_sync", _sync_args(state_dir, second, pap_port=dead_port))],
                     argus_conn(lab, lab.pap.port, retries=0, timeout=3), "argus")
    seed, result = proc.results["localhost"]
    assert not seed.get("failed"), seed.get("msg")
    assert result.get("failed"), result
    assert banned_values(pap_rules(lab, lab.pap)) == ["CN=Synced One,OU=Users,DC=gridsec,DC=test"]
    assert [e["value"] for e in _last_good(state_dir)[0]["entries"]] == ["/DC=test/DC=gridsec/OU=Users/CN=Synced One"]


def _outcome_problem(result, label, pattern):
    """Why ``result`` is not the expected outcome (a failure naming the server and operation, with the fault's
    reason, no file content leaked), or None."""
    if not result:
        return "no result"
    if not result.get("failed"):
        return "did not fail: %r" % (result.get("msg") or result.get("changed"))
    msg = result.get("msg", "")
    if label not in msg:
        return "message does not name the server %s: %r" % (label, msg)
    if not (any(op in msg for op in ARGUS_OPS + PANDA_OPS) or "operation" in msg or "commit" in msg):
        return "message does not name the operation: %r" % msg
    if not re.search(pattern, msg):
        return "message does not give the reason (%s): %r" % (pattern, msg)
    if "root:" in repr(result):
        return "file content leaked through an entity"
    return None


def test_argus_faults_during_write(argus_pap, argus_pki, tmp_path):
    """The write itself fails (reply cut after the server applied it, or refused with a SOAP fault), one proxy per
    fault, argus_policy and argus_pap on each, in one playbook run: every task fails naming the server and
    operation; the older ban survives, nothing is duplicated; a re-run through the healed proxies converges."""
    lab = argus_pap
    raw_ban(lab, lab.pap, DN_OLD)
    before_rules = pap_rules(lab, lab.pap)
    names = sorted(WRITE_FAULTS)
    modules = sorted(WRITE_OPS)
    hosts = dict(("w%02d" % i, fault) for i, fault in enumerate(names))
    subjects = dict((host, ARGUS_MODULES["argus_policy"]()["subjects"]) for host in hosts)
    proxies = {}
    try:
        for fault in names:
            proxies[fault] = _argus_proxy(lab, argus_pki)
            rules = []
            for op in WRITE_OPS.values():
                rules.extend(WRITE_FAULTS[fault](op)["rules"])
            proxies[fault].set("http", rules=rules)
        # each host asks for its own polling interval: the PAP is shared, and a fault that cuts the reply after
        # the server applied a write would otherwise turn the same write on a later host into a no-op
        intervals = dict((host, 17 + i) for i, host in enumerate(sorted(hosts)))
        inventory = local_inventory(tmp_path, dict((host, {"fault_port": proxies[fault].port,
                                                           "fault_subjects": subjects[host],
                                                           "fault_interval": intervals[host]})
                                                   for host, fault in hosts.items()))
        tasks = [("argus_pap", {"polling_interval": "{{ fault_interval }}"}), ("argus_policy", {})]
        run = dict(inventory=inventory, host_args={"pap_port": "{{ fault_port }}"}, extra_args=("-f", "4"),
                   strategy="free")
        conn = argus_conn(lab, lab.pap.port, retries=1, timeout=5)
        proc = run_tasks(tmp_path, [(m, dict(a, **({"subjects": "{{ fault_subjects }}"} if m == "argus_policy"
                                                     else {}))) for m, a in tasks], conn, "argus", **run)
        fired = dict((fault, proxy.fired()) for fault, proxy in proxies.items())
        after = pap_rules(lab, lab.pap)
        for proxy in proxies.values():
            proxy.set("pass")
        rerun = run_tasks(tmp_path, [(m, dict(a, **({"subjects": "{{ fault_subjects }}"} if m == "argus_policy"
                                                      else {}))) for m, a in tasks], conn, "argus", **run)
    finally:
        for proxy in proxies.values():
            proxy.stop()
    problems = []
    for host, fault in sorted(hosts.items()):
        assert any(action.startswith(("reset_after", "respond")) for _op, action in fired[fault]), fired[fault]
        for (module, _args), result, again in zip(tasks, proc.results[host], rerun.results[host]):
            why = _outcome_problem(result, "localhost:%d" % proxies[fault].port, r".")
            if not why and (not again or again.get("failed")):
                why = "the re-run did not converge: %r" % (again or {}).get("msg")
            MATRIX[(fault, module)] = ("fails, names server + operation; re-run converges" if not why
                                       else "WRONG: " + why)
            if why:
                problems.append("%s / %s: %s" % (fault, module, why))
    assert not problems, "\n".join(problems)
    assert set(before_rules) <= set(after)                # no ban lost, nothing else removed
    assert len(set(after)) == len(after)                  # no duplicate rule
    final = pap_rules(lab, lab.pap)
    assert set(before_rules) <= set(final)
    wanted = {"CN=%s,OU=Users,DC=gridsec,DC=test" % dn.split("CN=")[1] for dns in subjects.values() for dn in dns}
    assert wanted <= set(banned_values(final))
    assert len(banned_values(final)) == len(set(banned_values(final)))
    assert float(_polling_interval(lab)) in intervals.values()   # one host's value, as a last writer left it


def test_argus_policy_version_conflict(argus_pap, argus_pki, tmp_path):
    """Another writer changes the policy between the module's read and its version-checked write (exclusive
    mode rewrites the policy with updatePolicy): the other writer's ban must survive, and the module must either
    retry on the new version (and succeed) or fail naming the server and operation."""
    lab = argus_pap
    raw_ban(lab, lab.pap, DN_OLD)
    intruder = "/DC=test/DC=gridsec/OU=Users/CN=Intruder %s" % letters()
    mine = "/DC=test/DC=gridsec/OU=Users/CN=Mine %s" % letters()
    with _argus_proxy(lab, argus_pki) as proxy:
        proxy.set("http", rules=[(lambda op, _p, _b: op in ("updatePolicy", "updatePolicySet", "ban", "addPolicy"),
                                  {"before": lambda: raw_ban(lab, lab.pap, intruder), "times": 1})])
        result = run_module(tmp_path, "argus_policy", {"subjects": [DN_OLD, mine]},
                            argus_conn(lab, proxy.port, retries=1, timeout=5), "argus")
        fired = proxy.fired("before")
    assert fired, "the concurrent write was never injected"
    final = banned_values(pap_rules(lab, lab.pap))
    assert "CN=Intruder %s,OU=Users,DC=gridsec,DC=test" % intruder.split("CN=Intruder ")[1] in final
    if result.get("failed"):
        MATRIX[("policy version conflict", "argus_policy")] = ("fails, names server + operation; other writer's "
                                                               "ban kept")
        _names_server_and_operation(result, "localhost:%d" % proxy.port)
    else:
        MATRIX[("policy version conflict", "argus_policy")] = "succeeds; its ban and the other writer's both kept"
        assert "CN=Mine %s,OU=Users,DC=gridsec,DC=test" % mine.split("CN=Mine ")[1] in final
    assert len(final) == len(set(final))


# ---- PanDA ----------------------------------------------------------------------------------------------

PANDA_OPS = ("get_banned_users", "kill", "get_description", "job/", "metaconfig", "commit", "get_user_rows",
             "set_status", "connect", "find_active_jobs")
LAB_USERS = "/DC=test/DC=gridsec-lab/OU=Users"
JSON_FALSE = b'{"success": false, "message": "injected failure: database unavailable", "data": null}'

PANDA_FAULTS = {
    "connection refused": ("refuse", lambda ctx: {}, r"(?i)refused|connect"),
    "reset on connect": ("reset", lambda ctx: {}, r"(?i)reset|connection|ssl|eof"),
    "read timeout (no TLS handshake)": ("hang", lambda ctx: {}, TIMEOUT),
    "read timeout (request sent)": ("http", lambda ctx: {"rules": [(FIRST, {"hang": True})]}, TIMEOUT),
    "HTTP 500 HTML page": ("http", _http(500, "text/html", faults.HTML_ERROR), r"500"),
    "HTTP 503": ("http", _http(503, "text/plain", b"Service Unavailable"), r"503"),
    "HTML error page with 200": ("http", _http(200, "text/html", faults.HTML_ERROR), r"(?i)json|html|reply|pars"),
    "API success false": ("http", _http(200, "application/json", JSON_FALSE), r"injected failure"),
    "truncated JSON": ("http", _http(200, "application/json", JSON_FALSE[:25]), r"(?i)json|reply|pars"),
    "TLS untrusted CA": ARGUS_FAULTS["TLS untrusted CA"],
    "TLS expired certificate": ARGUS_FAULTS["TLS expired certificate"],
    "TLS wrong host name": ARGUS_FAULTS["TLS wrong host name"],
}


def _panda_user(pki, label):
    tag = letters()
    dn = "%s/CN=%s%s/CN=%s %s" % (LAB_USERS, label.lower().replace(" ", ""), tag, label, tag.capitalize())
    return pki.user(label + " " + tag, dn=dn)


def _panda_conn(ep, port, **extra):
    out = {"panda_url": "https://localhost:%d" % port, "client_cert": ep.admin.cert, "client_key": ep.admin.key,
           "ca_path": ep.ca_path, "db_host": ep.db.host, "db_port": ep.db.port, "db_name": ep.db.dbname,
           "db_user": ep.db.user, "db_meta_schema": ep.db.meta_schema, "db_panda_schema": ep.db.panda_schema,
           "db_deft_schema": ep.db.deft_schema}
    if ep.db.password:
        out["db_password"] = ep.db.password
    out.update(extra)
    return out


def _user_status(ep, name):
    from psycopg import sql
    with psycopg.connect(ep.db.dsn()) as db:
        return [row[0] for row in db.execute(sql.SQL("SELECT status FROM {}.users WHERE name = %s ORDER BY id")
                                             .format(sql.Identifier(ep.db.meta_schema)), (name,)).fetchall()]


def _job_status(ep, panda_id):
    import requests
    reply = requests.post("%s/api/v1/job/get_description_incl_archive" % ep.url, json={"job_ids": [panda_id]},
                          cert=(ep.admin.cert, ep.admin.key), verify=ep.ca_path,
                          headers={"Accept": "application/json"}, timeout=60).json()
    return reply["data"][0]["jobStatus"]


@pytest.fixture(scope="module")
def panda_bad_certs(panda_pki, tmp_path_factory):
    return faults.bad_certificates(panda_pki, str(tmp_path_factory.mktemp("panda-bad-certs")))


def _panda_proxy(ep, pki):
    port = int(ep.url.rsplit(":", 1)[1].split("/")[0])
    return faults.FaultProxy("127.0.0.1", port, server_cred=pki.host("fault-proxy"), upstream_cred=ep.admin,
                             upstream_ca=ep.ca_path, client_ca=ep.ca_path).start()


def test_panda_api_faults(panda_lab_endpoint, panda_pki, panda_bad_certs, tmp_path):
    """panda_user_ban (its API verification), panda_job_kill and panda_job_info against the lab PanDA API, one
    proxy per fault, in one playbook run (the database is reached directly): every task fails naming the server
    and the operation; the ban written to the database stays (no ban lost), the job is untouched."""
    from gridsec_lab.panda.naming import clean_user_id
    ep = panda_lab_endpoint
    cred = _panda_user(panda_pki, "Fault Target")
    name = clean_user_id(cred.dn)
    panda_id = ep.submit_job(cred)
    status_before = _job_status(ep, panda_id)
    names = sorted(PANDA_FAULTS)
    hosts = dict(("p%02d" % i, fault) for i, fault in enumerate(names))
    tasks = [("panda_user_ban", {"user": name, "state": "banned", "verify": True}),
             ("panda_job_kill", {"job_ids": [panda_id]}),
             ("panda_job_info", {"panda_id": panda_id})]
    proxies = {}
    try:
        for fault in names:
            proxy_fault, params, _pattern = PANDA_FAULTS[fault]
            proxies[fault] = _panda_proxy(ep, panda_pki)
            proxies[fault].set(proxy_fault, **params({"bad": panda_bad_certs}))
        inventory = local_inventory(tmp_path, dict((host, {"fault_port": proxies[fault].port})
                                                   for host, fault in hosts.items()))
        proc = run_tasks(tmp_path, tasks, _panda_conn(ep, 1, retries=0, timeout=3), "panda", inventory=inventory,
                         host_args={"panda_url": "https://localhost:{{ fault_port }}"}, strategy="free",
                         extra_args=("-f", "6"), timeout=900)
    finally:
        for proxy in proxies.values():
            proxy.stop()
    problems = []
    for host, fault in sorted(hosts.items()):
        for (module, _args), result in zip(tasks, proc.results.get(host) or [None] * len(tasks)):
            why = _outcome_problem(result, "localhost:%d" % proxies[fault].port, PANDA_FAULTS[fault][2])
            MATRIX[(fault, module)] = "fails, names server + operation" if not why else "WRONG: " + why
            if why:
                problems.append("%s / %s: %s" % (fault, module, why))
    assert not problems, "\n".join(problems)
    # the ban reached the database before the (failed) verification, and stays: no ban lost
    assert _user_status(ep, name) == ["disabled"]
    # the kill was refused by the fault: the job is untouched
    assert _job_status(ep, panda_id) == status_before


def test_panda_db_refused_and_gone_mid_transaction(panda_lab_endpoint, panda_pki, tmp_path):
    """panda_user_ban with the database refusing connections, then with the backend terminated
    (pg_terminate_backend) between the UPDATE and the COMMIT: the task fails naming the database and the operation,
    nothing is half-applied, a re-run bans."""
    from gridsec_lab.panda.naming import clean_user_id
    ep = panda_lab_endpoint
    cred = _panda_user(panda_pki, "Db Fault")
    name = clean_user_id(cred.dn)
    ep.submit_job(cred)
    assert _user_status(ep, name) == [None]

    def terminate(upstream_local_port):
        with psycopg.connect(ep.db.dsn(), autocommit=True) as db:
            db.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE client_port = %s",
                       (upstream_local_port,))

    proxy = faults.FaultProxy(ep.db.host if ep.db.host not in ("localhost", "") else "127.0.0.1", ep.db.port,
                              upstream_tls=False).start()
    try:
        conn = _panda_conn(ep, 1, db_host="127.0.0.1", db_port=proxy.port)
        state_dir, listfile = tmp_path / "state", tmp_path / "list.txt"
        listfile.write_text(cred.dn + "\n")
        tasks = [("panda_user_ban", {"user": name, "state": "banned"}),
                 ("suspension_list_sync", {"name": "dbfault", "state_dir": str(state_dir),
                                           "sources": [{"name": "list", "type": "plain", "path": str(listfile)}],
                                           "targets": [{"name": "panda", "type": "panda"}]})]
        proxy.set("refuse")
        refused, sync_refused = run_tasks(tmp_path, tasks, conn, "panda").results["localhost"]
        proxy.set("sql_hook", pattern=b"COMMIT", hook=terminate)
        gone, sync_gone = run_tasks(tmp_path, tasks, conn, "panda").results["localhost"]
        fired = proxy.fired("sql_hook")
    finally:
        proxy.stop()
    label = "127.0.0.1:%d" % proxy.port
    MATRIX[("database refused", "panda_user_ban")] = "fails, names server" if refused.get("failed") else "NOT FAILED"
    MATRIX[("database gone mid-transaction", "panda_user_ban")] = (
        "fails, names server + operation; rolled back" if gone.get("failed") else "NOT FAILED")
    assert refused.get("failed"), refused
    assert label in refused["msg"] or str(proxy.port) in refused["msg"], refused["msg"]
    assert fired, "the COMMIT was never seen"
    assert gone.get("failed"), gone
    assert str(proxy.port) in gone["msg"], gone["msg"]
    assert _user_status(ep, name) == [None]        # the transaction was rolled back, and the task said so
    for cell, result in (("database refused", sync_refused), ("database gone mid-transaction", sync_gone)):
        why = None if result.get("failed") and str(proxy.port) in result.get("msg", "") else repr(result.get("msg"))
        MATRIX[(cell, "suspension_list_sync")] = ("fails, names server + operation; nothing written" if not why
                                                  else "WRONG: " + why)
        assert not why, (cell, why)
    assert len(fired) >= 2, fired                  # both modules' COMMITs were cut
    rerun = run_module(tmp_path, "panda_user_ban", {"user": name, "state": "banned"},
                       _panda_conn(ep, 1), "panda")
    assert rerun.get("changed") and not rerun.get("failed"), rerun
    assert _user_status(ep, name) == ["disabled"]
