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
import signal
import subprocess
import sys
import threading
import time

from ..pki import TestPKI
from .lab import IamLab

LAB_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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


# The three helpers below have the shape of gridsec_lab/background.py (spawn, wait_for_stop_signal, stop)
# so they fold onto it when that module is merged.
def _spawn(args, log_path, ready, timeout):
    env = dict(os.environ)
    env["PYTHONPATH"] = LAB_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen([sys.executable, "-m", "gridsec_lab", *args], stdout=log, stderr=log,
                                stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            return None
        if ready():
            return proc
        time.sleep(0.1)
    proc.terminate()
    return None


def _wait_for_stop_signal():
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass


def _stop(pidfile, what="lab IAM", timeout=20):
    try:
        with open(pidfile) as handle:
            pid = int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        print("no %s running in %s" % (what, os.path.dirname(pidfile)))
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        os.unlink(pidfile)
        print("%s process %d was not running" % (what, pid))
        return 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        print("%s process %d did not stop" % (what, pid))
        return 1
    if os.path.exists(pidfile):
        os.unlink(pidfile)
    print("stopped %s process %d" % (what, pid))
    return 0


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
        _wait_for_stop_signal()
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
    proc = _spawn(cmd, log_path, lambda: os.path.exists(info) and os.path.exists(pidfile), args.timeout)
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
        return _stop(_paths(args.workdir)[1])
    return _foreground(args) if args.foreground else _background(args)
