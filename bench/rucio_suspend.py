#!/usr/bin/env python
"""Suspend the Rucio accounts of N identities (X.509 DNs) on the real Rucio 41.5.1 server (rucio_real tier):
the module's logic (``rucio_account.run`` over the collection's ``RucioClient``/``HttpTransport``, one login,
one kept-alive connection) against the same REST calls made directly with the standard library
(``http.client``, one kept-alive connection, same request sequence). Batches of 50 alternate between the two
sides; each side has its own N accounts. Writes bench/results-rucio.md and .json.

    .venv/bin/python bench/rucio_suspend.py [--n 1000] [--outdir bench]
"""
import argparse
import datetime
import http.client
import json
import os
import ssl
import sys
import tempfile
import time
import urllib.parse

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))

from gridsec_lab.pki import TestPKI  # noqa: E402
from gridsec_lab.rucio_real import launcher  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import RucioClient  # noqa: E402
from ansible_collections.gridsec.ops.plugins.modules import rucio_account  # noqa: E402


class Conn:
    """Kept-alive stdlib connection (also used for the set-up)."""

    def __init__(self, url, cafile):
        parts = urllib.parse.urlsplit(url)
        self.conn = http.client.HTTPSConnection(parts.hostname, parts.port,
                                                context=ssl.create_default_context(cafile=cafile))
        self.calls = 0
        self.token = None

    def call(self, method, path, headers=None, body=None):
        headers = dict(headers or {})
        if self.token:
            headers["X-Rucio-Auth-Token"] = self.token
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        self.calls += 1
        self.conn.request(method, path, body=data, headers=headers)
        reply = self.conn.getresponse()
        return reply.status, reply.getheader("X-Rucio-Auth-Token"), reply.read()

    def login(self, password):
        status, self.token, _ = self.call("GET", "/auth/userpass", {"X-Rucio-Account": "root",
                                                                    "X-Rucio-Username": "ddmlab",
                                                                    "X-Rucio-Password": password})
        assert status == 200


def direct_suspend(conn, dn_text, slash):
    """The module's request sequence, by hand."""
    names = []
    for spelling in (dn_text, slash):
        q = urllib.parse.urlencode({"identity_key": spelling, "type": "X509"})
        status, _, body = conn.call("GET", "/identities/accounts?" + q, {"Accept": "application/json"})
        assert status == 200
        names += [n for n in json.loads(body) if n not in names]
    assert len(names) == 1
    name = names[0]
    J = {"Accept": "application/json"}
    status, _, body = conn.call("GET", "/accounts/%s" % name, J)
    assert json.loads(body)["status"] == "ACTIVE"
    status, _, body = conn.call("GET", "/accounts/root/attr/", J)
    assert "gs.%s" % name not in [a["key"] for a in json.loads(body)]
    assert conn.call("POST", "/accounts/root/attr/gs.%s" % name, J,
                     {"value": "gridsec.ops-%s" % time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())})[0] == 201
    assert conn.call("PUT", "/accounts/%s" % name, J, {"status": "SUSPENDED"})[0] == 200
    status, _, body = conn.call("GET", "/accounts/%s" % name, J)
    assert json.loads(body)["status"] == "SUSPENDED"


class Shim:
    """What ``rucio_account.run`` uses of the AnsibleModule, around one shared client."""

    check_mode = False
    _diff = False

    def __init__(self, client, dn):
        self._c = client
        self.params = {"dn": dn, "account": None, "oidc_subject": None, "oidc_issuer": None, "state": "suspended",
                       "force": False, "owner_account": None, "rucio_account": "root"}
        self.result = None

    def client(self):
        return self._c

    def warn(self, msg):
        pass


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--batch", type=int, default=50)
    ap.add_argument("--outdir", default=os.path.join(ROOT, "bench"))
    args = ap.parse_args(argv)
    work = tempfile.mkdtemp(prefix="bench-rucio-")
    pki = TestPKI(os.path.join(work, "pki"))
    t0 = time.monotonic()
    ep = launcher.start(os.path.join(work, "srv"), pki)
    start_s = time.monotonic() - t0
    try:
        setup = Conn(ep.url, pki.ca_cert_path)
        setup.login(ep.root_password)
        people = {"module": [], "direct": []}
        t0 = time.monotonic()
        for side in people:
            for i in range(args.n):
                name = "b%s%05d" % (side[0], i)
                dn = "CN=%s,OU=Bench,DC=gridsec-lab,DC=test" % name
                assert setup.call("POST", "/accounts/%s" % name, None, {"type": "USER", "email": "b@x.org"})[0] == 201
                assert setup.call("POST", "/accounts/%s/identities" % name, None,
                                  {"identity": dn, "authtype": "X509", "email": "b@x.org"})[0] == 201
                people[side].append((dn, "/DC=test/DC=gridsec-lab/OU=Bench/CN=%s" % name))
        setup_s = time.monotonic() - t0
        transport = HttpTransport(ep.url, ca_path=pki.ca_cert_path, credential_fallback=False)
        client = RucioClient(transport, account="root", username="ddmlab", password=ep.root_password)
        direct = Conn(ep.url, pki.ca_cert_path)
        times = {"module": 0.0, "direct": 0.0}
        direct_logged_in = False
        for start in range(0, args.n, args.batch):
            t = time.monotonic()
            for dn, _ in people["module"][start:start + args.batch]:
                result = rucio_account.run(Shim(client, dn))
                assert result["changed"] and result["status"] == "SUSPENDED"
            times["module"] += time.monotonic() - t
            t = time.monotonic()
            if not direct_logged_in:
                direct.login(ep.root_password)
                direct_logged_in = True
            for dn, slash in people["direct"][start:start + args.batch]:
                direct_suspend(direct, dn, slash)
            times["direct"] += time.monotonic() - t
        # read back: every account of both sides is SUSPENDED
        suspended = 0
        for side in people:
            for dn, _ in people[side]:
                name = dn.split(",")[0][3:]
                status, _, body = setup.call("GET", "/accounts/%s" % name, {"Accept": "application/json"})
                suspended += json.loads(body)["status"] == "SUSPENDED"
        assert suspended == 2 * args.n, suspended
    finally:
        ep.stop()
    module_calls = len(client.operations)
    ratio = times["module"] / times["direct"]
    out = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
           "load_at_end": os.getloadavg()[0], "n": args.n, "server_start_s": round(start_s, 1),
           "setup_s": round(setup_s, 1), "module_s": round(times["module"], 2), "direct_s": round(times["direct"], 2),
           "module_calls": module_calls, "direct_calls": direct.calls, "ratio": round(ratio, 3),
           "target": "<= 1.2", "met": ratio <= 1.2}
    with open(os.path.join(args.outdir, "results-rucio.json"), "w") as handle:
        json.dump(out, handle, indent=1)
    with open(os.path.join(args.outdir, "results-rucio.md"), "w") as handle:
        handle.write("""# Rucio: suspending the accounts of {n} identities (bench/rucio_suspend.py)

{date}, {cpus} CPUs, load {load_at_end:.1f} at the end. Real Rucio 41.5.1 (rucio_real tier: SQLite, werkzeug, TLS on
127.0.0.1; server start {server_start_s} s; creating the 2 x {n} accounts and X.509 identities took {setup_s} s).

Each identity is an X.509 DN given in RFC 2253 form; per identity both sides send the same 7 requests: two
identity look-ups (`GET /identities/accounts`, the DN as given and its slash form), `GET /accounts/{{a}}`, the
owner's attributes (`GET /accounts/root/attr/`), the ownership record (`POST /accounts/root/attr/gs.{{a}}`), the
`PUT /accounts/{{a}}` `{{"status": "SUSPENDED"}}` and the read-back `GET /accounts/{{a}}`; one login each side.
Batches of 50 identities alternate between the sides. All 2 x {n} accounts were read back SUSPENDED.

| side | calls | time (s) |
|---|---|---|
| module logic (`rucio_account.run`, RucioClient on HttpTransport) | {module_calls} | {module_s} |
| same REST calls with `http.client` | {direct_calls} | {direct_s} |

**Ratio module / direct: {ratio}** (target {target}: {verdict}).

Scope: the module's logic in one process with one login (what a sync target or a looping caller sharing the client
does). One `ansible-playbook` task per identity adds Ansible's per-task cost (about 0.5-1 s of process start and
module transfer per task on these machines) that no REST client has; that cost is the same for every module of the
collection and is measured in `bench/results-startup.md`. Caveat found: the owner's attribute list grows with every
suspension the module owns (one attribute per account), so each read returns more; a batch caller should read it
once per batch.
""".format(verdict="met" if out["met"] else "NOT met", **out))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
