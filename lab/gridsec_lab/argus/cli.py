"""``python -m gridsec_lab argus``: start a lab PAP or a PAP hierarchy.

    python -m gridsec_lab argus --config hierarchy.yml --workdir DIR [--foreground] [--poll-interval S]
    python -m gridsec_lab argus --workdir DIR --stop        (or: python -m gridsec_lab argus stop --workdir DIR)
    python -m gridsec_lab argus serve --conf-dir DIR --workdir STATE [--ca-dir CADIR] [--foreground] [--timeout S]
        one PAP from a directory of real configuration files (pap_configuration.ini, pap_authorization.ini),
        repository under STATE; stop it with: python -m gridsec_lab argus stop --workdir STATE

Without --foreground the lab runs in a background process (pidfile DIR/argus.pid, log DIR/argus.log)
and the command returns once every PAP listens; DIR/lab.json describes endpoints and credentials.
"""
import argparse
import json
import os
import sys

from .. import background
from .lab import ArgusLab


def _parser():
    parser = argparse.ArgumentParser(prog="python -m gridsec_lab argus", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["start", "stop", "serve"], default="start")
    parser.add_argument("--conf-dir", help="serve: directory holding pap_configuration.ini and pap_authorization.ini")
    parser.add_argument("--ca-dir", help="serve: trusted CA directory (default: [security] trust_store_dir, "
                        "else /etc/grid-security/certificates)")
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
    return background.stop(_pidfile(workdir), "lab", timeout)


def _foreground(args):
    config = args.config or {"paps": [{"name": "pap"}]}
    lab = ArgusLab(config, args.workdir, poll_interval=args.poll_interval).start()
    with open(_pidfile(args.workdir), "w") as handle:
        handle.write(str(os.getpid()))
    print(lab.endpoints_text(), flush=True)
    try:
        background.wait_for_stop_signal()
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
    cmd = ["argus", "--workdir", workdir, "--foreground"]
    if args.config:
        cmd += ["--config", os.path.abspath(args.config)]
    if args.poll_interval:
        cmd += ["--poll-interval", str(args.poll_interval)]
    log_path = os.path.join(workdir, "argus.log")
    proc = background.spawn(cmd, log_path, lambda: os.path.exists(lab_json) and os.path.exists(_pidfile(workdir)),
                            args.timeout)
    if proc is None:
        print("lab failed to start within %ss, see %s" % (args.timeout, log_path), file=sys.stderr)
        return 1
    with open(lab_json) as handle:
        info = json.load(handle)
    for name, pap in info["paps"].items():
        print("%-8s %s  (host DN %s)" % (name, pap["url"], pap["dn"]))
    print("ca_dir   %s" % info["ca_dir"])
    print("lab.json %s" % lab_json)
    print("pid      %d (stop: python -m gridsec_lab argus stop --workdir %s)" % (proc.pid, workdir))
    return 0


def _serve_foreground(args):
    from .confdir import ConfDirError, serve_conf_dir
    try:
        pap = serve_conf_dir(args.conf_dir, args.workdir, ca_dir=args.ca_dir)
    except (ConfDirError, OSError, ValueError) as exc:
        print("cannot start the PAP from %s: %s" % (args.conf_dir, exc), file=sys.stderr, flush=True)
        return 1
    info = {"url": pap.url, "port": pap.port, "hostname": pap.hostname, "pid": os.getpid(),
            "conf_dir": pap.conf_dir, "workdir": pap.workdir, "ca_dir": pap.startup["ca_dir"]}
    tmp = os.path.join(pap.workdir, "argus.json.tmp")
    with open(tmp, "w") as handle:
        json.dump(info, handle, indent=1)
    os.replace(tmp, os.path.join(pap.workdir, "argus.json"))
    with open(_pidfile(args.workdir), "w") as handle:
        handle.write(str(os.getpid()))
    print("PAP listening on %s (pid %d)" % (pap.url, os.getpid()), flush=True)
    try:
        background.wait_for_stop_signal()
    finally:
        pap.stop()
        for path in (_pidfile(args.workdir), os.path.join(pap.workdir, "argus.json")):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
    return 0


def _serve_background(args):
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    info_path = os.path.join(workdir, "argus.json")
    for stale in (_pidfile(workdir), info_path):
        if os.path.exists(stale):
            os.unlink(stale)
    cmd = ["argus", "serve", "--conf-dir", os.path.abspath(args.conf_dir), "--workdir", workdir, "--foreground"]
    if args.ca_dir:
        cmd += ["--ca-dir", os.path.abspath(args.ca_dir)]
    log_path = os.path.join(workdir, "argus.log")
    proc = background.spawn(cmd, log_path, lambda: os.path.exists(info_path) and os.path.exists(_pidfile(workdir)),
                            args.timeout)
    if proc is None:
        print("the PAP failed to start within %ss, see %s" % (args.timeout, log_path), file=sys.stderr)
        return 1
    with open(info_path) as handle:
        info = json.load(handle)
    print("PAP listening on %s (pid %d, log %s)" % (info["url"], proc.pid, log_path))
    print("stop: python -m gridsec_lab argus stop --workdir %s" % workdir)
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.stop or args.command == "stop":
        return stop(args.workdir)
    if args.command == "serve":
        if not args.conf_dir:
            print("serve needs --conf-dir", file=sys.stderr)
            return 2
        return _serve_foreground(args) if args.foreground else _serve_background(args)
    if args.foreground:
        return _foreground(args)
    return _background(args)
