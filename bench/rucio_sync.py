#!/usr/bin/env python
"""The sync's ``rucio`` target (``_sync/rucio.py``) with N identities on the real Rucio 41.5.1 server (rucio_real
tier): REST calls counted for a first sync, a no-op and a small change (10 identities leave the list, 10 join),
against (a) the same REST calls made directly with ``http.client`` (one kept-alive connection) and (b) the
fewest calls a hand-written script could make (one look-up per identity in the stored spelling, no listing, no
read-back). Counts and ratios are the result; times are reported, never asserted (2 shared cores).

    .venv/bin/python bench/rucio_sync.py [--n 1000] [--output bench/results-rucio-sync]
"""
import argparse
import datetime
import json
import os
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "lab"))
sys.path.insert(0, os.path.join(ROOT, ".tmp", "collections"))

from rucio_suspend import Conn  # noqa: E402
from gridsec_lab.pki import TestPKI  # noqa: E402
from gridsec_lab.rucio_real import launcher  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import DN, Entry  # noqa: E402
from ansible_collections.gridsec.ops.plugins.module_utils._sync.rucio import RucioTarget  # noqa: E402

CHANGE = 10
J = {"Accept": "application/json"}
STREAM = {"Accept": "application/x-json-stream"}


class Ctx(object):
    """What RucioTarget uses of the sync's SyncContext; ``state`` stands for the sync's state file."""

    check_mode = False
    sync_name = "bench"
    params = {}

    def __init__(self, ca):
        self.ca = ca
        self.state = {}

    def target_state(self, name):
        return self.state

    def tls_options(self, spec):
        return {"ca_path": self.ca}

    def warn(self, msg):
        pass


def people(side, count, offset=0):
    out = []
    for i in range(offset, offset + count):
        name = "s%s%05d" % (side, i)
        out.append((name, "CN=%s,OU=Bench,DC=gridsec-lab,DC=test" % name))
    return out


def create(setup, persons):
    for name, dn in persons:
        assert setup.call("POST", "/accounts/%s" % name, None, {"type": "USER", "email": "b@x.org"})[0] == 201
        assert setup.call("POST", "/accounts/%s/identities" % name, None,
                          {"identity": dn, "authtype": "X509", "email": "b@x.org"})[0] == 201


def slash(dn):
    return "/" + "/".join(reversed(dn.split(",")))


class Direct(object):
    """The target's request sequence by hand (the same calls, no collection code)."""

    def __init__(self, url, ca, password):
        self.conn = Conn(url, ca)
        self.password = password

    def active(self):
        status, _, body = self.conn.call("GET", "/accounts/", STREAM)
        assert status == 200
        return set(json.loads(line)["account"] for line in body.decode().splitlines() if line.strip())

    def lookup(self, dn):
        names = []
        for spelling in (dn, slash(dn)):
            q = urllib.parse.urlencode({"identity_key": spelling, "type": "X509"})
            status, _, body = self.conn.call("GET", "/identities/accounts?" + q, J)
            assert status == 200
            names += [n for n in json.loads(body) if n not in names]
        return names

    def put(self, name, status):
        assert self.conn.call("PUT", "/accounts/%s" % name, J, {"status": status})[0] == 200

    def sync(self, new_dns, release=()):
        self.conn.token = None
        self.conn.login(self.password)
        active = self.active()
        accounts = [a for dn in new_dns for a in self.lookup(dn)]
        lift = []
        for name in release:
            status, _, body = self.conn.call("GET", "/accounts/%s" % name, J)
            if json.loads(body)["status"] == "SUSPENDED":
                lift.append(name)
        suspend = [a for a in accounts if a in active]
        for name in suspend:
            self.put(name, "SUSPENDED")
        for name in lift:
            self.put(name, "ACTIVE")
        if suspend or lift:
            after = self.active()
            assert not [a for a in suspend if a in after] and not [a for a in lift if a not in after]


def timed(fn):
    t = time.monotonic()
    out = fn()
    return out, time.monotonic() - t


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--output", default=os.path.join(HERE, "results-rucio-sync"))
    args = ap.parse_args(argv)
    n = args.n
    work = tempfile.mkdtemp(prefix="bench-rucio-sync-")
    pki = TestPKI(os.path.join(work, "pki"))
    t0 = time.monotonic()
    ep = launcher.start(os.path.join(work, "srv"), pki)
    start_s = time.monotonic() - t0
    rows = {}
    try:
        setup = Conn(ep.url, pki.ca_cert_path)
        setup.login(ep.root_password)
        side = {"t": people("t", n + CHANGE), "d": people("d", n + CHANGE)}
        t0 = time.monotonic()
        for persons in side.values():
            create(setup, persons)
        setup_s = time.monotonic() - t0
        ctx = Ctx(pki.ca_cert_path)
        spec = {"name": "rucio", "type": "rucio", "rucio_url": ep.url, "rucio_auth_type": "userpass",
                "rucio_account": "root", "rucio_username": ep.root_username, "rucio_password": ep.root_password,
                "rucio_lookup_max_age": "24h"}
        direct = Direct(ep.url, pki.ca_cert_path, ep.root_password)

        def run_target(persons):
            target = RucioTarget(dict(spec), ctx)
            entries = [Entry(DN, dn) for _name, dn in persons]
            try:
                data = target.sync(dict((e.key, e) for e in entries), False)
            finally:
                target.close()
            assert "problems" not in data, data.get("problems")
            return data

        first, last = side["t"][:n], side["t"][CHANGE:n + CHANGE]
        dfirst, dlast = side["d"][:n], side["d"][CHANGE:n + CHANGE]
        steps = (
            ("first", first, [dn for _n, dn in dfirst], ()),
            ("noop", first, [], ()),
            ("change", last, [dn for _n, dn in side["d"][n:n + CHANGE]], [name for name, _dn in dfirst[:CHANGE]]),
        )
        for step, persons, d_new, d_release in steps:
            before = direct.conn.calls
            _, d_s = timed(lambda: direct.sync(d_new, d_release))
            d_calls = direct.conn.calls - before
            data, t_s = timed(lambda: run_target(persons))
            t_calls = data["reads"] + data["writes"]
            rows[step] = {"target_calls": t_calls, "target_reads": data["reads"], "target_writes": data["writes"],
                          "lookups": data["lookups"], "added": data["added_count"],
                          "removed": data["removed_count"], "direct_calls": d_calls,
                          "calls_ratio": round(float(t_calls) / d_calls, 3), "target_s": round(t_s, 2),
                          "direct_s": round(d_s, 2), "time_ratio": round(t_s / d_s, 3) if d_s else None}
        # read back: the target's side, every account of the last list SUSPENDED, the 10 released ACTIVE
        active = direct.active()
        assert not [name for name, _dn in last if name in active]
        assert all(name in active for name, _dn in first[:CHANGE])
    finally:
        ep.stop()
    minimal = {"first": 1 + 2 * n, "noop": 2, "change": 1 + 3 * CHANGE}
    no_cache_noop = 2 + 2 * n
    for step, row in rows.items():
        row["minimal_script_calls"] = minimal[step]
        row["calls_over_minimal"] = round(float(row["target_calls"]) / minimal[step], 3)
    out = {"date": datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M UTC"), "cpus": os.cpu_count(),
           "load_at_end": round(os.getloadavg()[0], 1), "n": n, "change": CHANGE, "server_start_s": round(start_s, 1),
           "setup_s": round(setup_s, 1), "steps": rows, "noop_without_lookup_cache_calls": no_cache_noop}
    with open(args.output + ".json", "w") as handle:
        json.dump(out, handle, indent=1)
    with open(args.output + ".md", "w") as handle:
        handle.write(render(out))
    print(json.dumps(out))


def render(out):
    lines = ["# Rucio sync target: %d identities (bench/rucio_sync.py)" % out["n"], "",
             "%s, %d CPUs, load %.1f at the end. Real Rucio 41.5.1 (rucio_real tier: SQLite, werkzeug, TLS on "
             "127.0.0.1; server start %s s; creating 2 x %d accounts with an X.509 identity took %s s)."
             % (out["date"], out["cpus"], out["load_at_end"], out["server_start_s"], out["n"] + out["change"],
                out["setup_s"]), "",
             "`RucioTarget.sync` (built directly with a stand-in SyncContext, as the sync builds it) against the same "
             "REST calls made by hand with `http.client` on its own accounts, and against the fewest calls a "
             "hand-written script could make (one look-up per identity in the spelling the server stores, no "
             "listing, no read-back; for the no-op: a login and the listing). Each DN is given in "
             "RFC 2253 form, so the target looks up two spellings (as given and the slash form). Steps: first "
             "sync of %d identities; no-op; change (%d leave, %d join)." % (out["n"], out["change"], out["change"]),
             "",
             "| step | target calls (reads / writes; look-ups) | same calls by hand | calls ratio | fewest "
             "possible | target / fewest | time target / by hand (s) |",
             "|---|---|---|---|---|---|---|"]
    for step in ("first", "noop", "change"):
        row = out["steps"][step]
        lines.append("| %s | %d (%d / %d; %d) | %d | %.2f | %d | %.2f | %.2f / %.2f = %.2f |" % (
            step, row["target_calls"], row["target_reads"], row["target_writes"], row["lookups"],
            row["direct_calls"], row["calls_ratio"], row["minimal_script_calls"], row["calls_over_minimal"],
            row["target_s"], row["direct_s"], row["time_ratio"] or 0))
    lines += ["", "- No-op: one login and one `GET /accounts/` listing, no write, whatever N (identity look-ups are "
              "kept in the target state for `rucio_lookup_max_age`, default 24h). Without that cache a no-op would "
              "be %d calls." % out["noop_without_lookup_cache_calls"],
              "- First sync and change: above the fewest possible by the second DN spelling looked up per identity "
              "(Rucio compares identities as exact strings and stores what the front end gave: RFC 2253 or slash "
              "form) and by the listing before and after the writes (the read-back: Rucio answers 200 to a PUT it "
              "did not apply). Same calls by hand: the ratio measures the collection's own overhead.",
              "- Times are one run each on a shared machine: reported, not asserted.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
