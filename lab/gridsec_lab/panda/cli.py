"""``python -m gridsec_lab panda --workdir DIR``: run the lab PanDA until interrupted (or ``--stop`` it)."""
import argparse
import dataclasses
import json
import os
import signal
import sys
import threading

from .. import pg
from ..pki import TestPKI


def main(argv):
    parser = argparse.ArgumentParser(prog="python -m gridsec_lab panda")
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--pki-dir", help="test PKI directory (default WORKDIR/pki)")
    parser.add_argument("--schema-dir", default=None,
                        help="load the real PanDA PostgreSQL DDL from this directory instead of the lab's own tables")
    parser.add_argument("--pg-admin-dsn", default=None)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ban-cache-seconds", type=int, default=600)
    parser.add_argument("--iam-json", default=None,
                        help="accept bearer tokens of the lab IAM that wrote this iam.json (Origin: atlas)")
    parser.add_argument("--stop", action="store_true", help="stop the lab PanDA running for WORKDIR")
    args = parser.parse_args(argv)
    workdir = os.path.abspath(args.workdir)
    pidfile = os.path.join(workdir, "panda.pid")
    if args.stop:
        try:
            with open(pidfile) as handle:
                os.kill(int(handle.read()), signal.SIGTERM)
        except (OSError, ValueError) as err:
            print("no lab PanDA running for %s (%s)" % (workdir, err), file=sys.stderr)
            return 1
        return 0
    if args.schema_dir and not pg.schema_dir_available(args.schema_dir):
        print("PanDA schema not found in %s: %s" % (args.schema_dir, pg.SCHEMA_HOWTO), file=sys.stderr)
        return 2
    from . import start  # after the checks: start() creates a database
    pki = TestPKI(args.pki_dir or os.path.join(workdir, "pki"))
    token_config = None
    if args.iam_json:
        from ..panda_tokens import config_from_iam_json
        token_config = config_from_iam_json(args.iam_json, os.path.join(workdir, "auth"))
    endpoint = start(workdir, pki, args.schema_dir, args.pg_admin_dsn, args.ban_cache_seconds, args.port,
                     token_config=token_config)
    info = {
        "url": endpoint.url, "monitor_url": endpoint.monitor_url, "ca_path": endpoint.ca_path,
        "admin": endpoint.admin.as_dict(), "users": {k: v.as_dict() for k, v in endpoint.users.items()},
        "db": dataclasses.asdict(endpoint.db), "ban_cache_seconds": endpoint.ban_cache_seconds,
        "token_vo": endpoint.token_vo,
    }
    with open(os.path.join(workdir, "panda.json"), "w") as handle:
        json.dump(info, handle, indent=2)
    with open(pidfile, "w") as handle:
        handle.write(str(os.getpid()))
    print(json.dumps(info, indent=2), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    done.wait()
    endpoint.stop()
    os.unlink(pidfile)
    return 0
