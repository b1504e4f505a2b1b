"""``python -m gridsec_lab iam``: start a lab INDIGO IAM.

    python -m gridsec_lab iam --workdir DIR [--port N] [--issuer URL] [--pki-dir PKI] [--foreground]
    python -m gridsec_lab iam stop --workdir DIR

Without --foreground (the default; ``--background`` says so explicitly) the lab IAM runs in a background
process (pidfile DIR/iam.pid, log DIR/iam.log) and the command returns once it listens. DIR/iam.json
(mode 0600) holds the base URL, the issuer (as configured, and with the trailing ``/`` of discovery), the
CA file, the admin client id/secret, the other lab clients and the test users (ids, usernames, passwords,
certificate DNs, OIDC ids). Documentation: docs/lab-iam.md.
"""
import argparse
import json
import os
import sys

from ..background import spawn, stop, wait_for_stop_signal
from ..pki import TestPKI
from .lab import IamLab


def _parser():
    parser = argparse.ArgumentParser(prog="python -m gridsec_lab iam", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["start", "stop"], default="start")
    parser.add_argument("--workdir", required=True, help="state directory (PKI, signing key, iam.json)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--foreground", action="store_true", help="run in this process until interrupted")
    mode.add_argument("--background", action="store_true", help="run detached (the default)")
    parser.add_argument("--port", type=int, default=0, help="listening port (default: a free one)")
    parser.add_argument("--issuer", help="IAM_ISSUER (default: the base URL, without a trailing /)")
    parser.add_argument("--pki-dir", help="an existing lab PKI directory to share (default: DIR/pki)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for a background start")
    return parser


def _paths(workdir):
    workdir = os.path.abspath(workdir)
    return workdir, os.path.join(workdir, "iam.pid"), os.path.join(workdir, "iam.json")


def _foreground(args):
    workdir, pidfile, info = _paths(args.workdir)
    pki = TestPKI(os.path.abspath(args.pki_dir)) if args.pki_dir else None
    lab = IamLab(workdir, pki=pki, port=args.port, issuer=args.issuer).start()
    with open(pidfile, "w") as handle:
        handle.write(str(os.getpid()))
    print("lab IAM listening on %s (issuer %s, pid %d)" % (lab.url, lab.issuer, os.getpid()), flush=True)
    try:
        wait_for_stop_signal()
    finally:
        lab.stop()
        for path in (pidfile, info):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return 0


def _background(args):
    workdir, pidfile, info = _paths(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    for stale in (pidfile, info):
        if os.path.exists(stale):
            os.unlink(stale)
    cmd = ["iam", "--workdir", workdir, "--foreground", "--port", str(args.port)]
    if args.issuer:
        cmd += ["--issuer", args.issuer]
    if args.pki_dir:
        cmd += ["--pki-dir", os.path.abspath(args.pki_dir)]
    log_path = os.path.join(workdir, "iam.log")
    proc = spawn(cmd, log_path, lambda: os.path.exists(info) and os.path.exists(pidfile), args.timeout)
    if proc is None:
        print("the lab IAM did not start, see %s" % log_path, file=sys.stderr)
        return 1
    with open(info) as handle:
        data = json.load(handle)
    print("url      %s" % data["url"])
    print("issuer   %s (discovery: %s)" % (data["issuer"], data["discovery_issuer"]))
    print("ca_file  %s" % data["ca_file"])
    print("admin    %s (secret in iam.json)" % data["admin"]["client_id"])
    print("users    %s" % ", ".join(sorted(data["users"])))
    print("iam.json %s" % info)
    print("pid      %d (stop: python -m gridsec_lab iam stop --workdir %s)" % (proc.pid, workdir))
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.command == "stop":
        return stop(_paths(args.workdir)[1], what="lab IAM")
    return _foreground(args) if args.foreground else _background(args)
