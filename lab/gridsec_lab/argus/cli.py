"""``python -m gridsec_lab argus``: start a lab PAP or a PAP hierarchy.

    python -m gridsec_lab argus --config hierarchy.yml --workdir DIR [--foreground] [--poll-interval S]
    python -m gridsec_lab argus --workdir DIR --stop        (or: python -m gridsec_lab argus stop --workdir DIR)

Without --foreground the lab runs in a background process (pidfile DIR/argus.pid, log DIR/argus.log)
and the command returns once every PAP listens; DIR/lab.json describes endpoints and credentials.
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import threading
import time

from .lab import ArgusLab


def _parser():
    parser = argparse.ArgumentParser(prog="python -m gridsec_lab argus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["start", "stop"], default="start")
    parser.add_argument("--config", help="YAML lab configuration (default: a single PAP)")
    parser.add_argument("--workdir", required=True, help="state directory (PKI, PAP repositories, lab.json)")
    parser.add_argument("--foreground", action="store_true", help="run in this process until interrupted")
    parser.add_argument("--stop", action="store_true", help="stop the lab running in --workdir")
    parser.add_argument("--poll-interval", type=float, help="override every PAP's poll interval (seconds)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds to wait for a background start")
    return parser


def _pidfile(workdir):
    return os.path.join(os.path.abspath(workdir), "argus.pid")


def stop(workdir, timeout=20):
    path = _pidfile(workdir)
    try:
        with open(path) as handle:
            pid = int(handle.read().strip())
    except (FileNotFoundError, ValueError):
        print("no lab running in %s" % workdir)
        return 1
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        os.unlink(path)
        print("lab process %d was not running" % pid)
        return 0
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    else:
        print("lab process %d did not stop" % pid)
        return 1
    if os.path.exists(path):
        os.unlink(path)
    print("stopped lab process %d" % pid)
    return 0


def _foreground(args):
    config = args.config or {"paps": [{"name": "pap"}]}
    lab = ArgusLab(config, args.workdir, poll_interval=args.poll_interval).start()
    with open(_pidfile(args.workdir), "w") as handle:
        handle.write(str(os.getpid()))
    print(lab.endpoints_text(), flush=True)
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *a: done.set())
    try:
        while not done.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        lab.stop()
        try:
            os.unlink(_pidfile(args.workdir))
        except FileNotFoundError:
            pass
    return 0


def _background(args):
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    lab_json = os.path.join(workdir, "lab.json")
    if os.path.exists(lab_json):
        os.unlink(lab_json)
    cmd = [sys.executable, "-m", "gridsec_lab", "argus", "--workdir", workdir, "--foreground"]
    if args.config:
        cmd += ["--config", os.path.abspath(args.config)]
    if args.poll_interval:
        cmd += ["--poll-interval", str(args.poll_interval)]
    env = dict(os.environ)
    lab_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env["PYTHONPATH"] = lab_root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    log = open(os.path.join(workdir, "argus.log"), "ab")
    proc = subprocess.Popen(cmd, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env, start_new_session=True)
    deadline = time.time() + args.timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            print("lab failed to start, see %s" % os.path.join(workdir, "argus.log"), file=sys.stderr)
            return 1
        if os.path.exists(lab_json) and os.path.exists(_pidfile(workdir)):
            with open(lab_json) as handle:
                info = json.load(handle)
            for name, pap in info["paps"].items():
                print("%-8s %s  (host DN %s)" % (name, pap["url"], pap["dn"]))
            print("ca_dir   %s" % info["ca_dir"])
            print("lab.json %s" % lab_json)
            print("pid      %d (stop: python -m gridsec_lab argus stop --workdir %s)" % (proc.pid, workdir))
            return 0
        time.sleep(0.1)
    proc.terminate()
    print("lab did not start within %ss" % args.timeout, file=sys.stderr)
    return 1


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.stop or args.command == "stop":
        return stop(args.workdir)
    if args.foreground:
        return _foreground(args)
    return _background(args)
