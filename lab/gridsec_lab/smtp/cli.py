"""``python -m gridsec_lab smtp``: run the lab SMTP server (STARTTLS + AUTH, every accepted mail kept on disk).

    python -m gridsec_lab smtp --workdir DIR [--foreground] [--port N] [--user NAME:PASSWORD ...]
                               [--pki-dir PKI] [--no-starttls] [--no-auth] [--timeout S]
    python -m gridsec_lab smtp stop --workdir DIR          (or: --workdir DIR --stop)

Without --foreground the server runs in a background process (pidfile DIR/smtp.pid, log DIR/smtp.log) and the
command returns once it listens. DIR/smtp.json (mode 0600) gives host, port, the CA file that signs the server
certificate, the credentials, and the mail directory (DIR/mail/<nnnn>.eml + index.jsonl). Without --user the
account is gridsec-ops with a random password (read it from smtp.json). The certificate comes from the test PKI
in PKI (default DIR/pki): pass the Argus lab's WORKDIR/pki to share one CA.
"""
import argparse
import json
import os
import secrets
import sys

from .. import background
from ..pki import TestPKI

DEFAULT_USER = "gridsec-ops"


def _parser():
    parser = argparse.ArgumentParser(prog="python -m gridsec_lab smtp", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", nargs="?", choices=["start", "stop"], default="start")
    parser.add_argument("--workdir", required=True, help="state directory (smtp.json, mail/, pidfile, log)")
    parser.add_argument("--foreground", action="store_true", help="run in this process until interrupted")
    parser.add_argument("--stop", action="store_true", help="stop the server running in --workdir")
    parser.add_argument("--port", type=int, default=0, help="listening port on 127.0.0.1 (default: a free one)")
    parser.add_argument("--user", action="append", metavar="NAME:PASSWORD", help="an account (repeatable)")
    parser.add_argument("--pki-dir", help="test PKI directory (default WORKDIR/pki)")
    parser.add_argument("--no-starttls", action="store_true", help="accept AUTH and mail without STARTTLS")
    parser.add_argument("--no-auth", action="store_true", help="accept mail without AUTH")
    parser.add_argument("--timeout", type=float, default=30, help="seconds to wait for a background start")
    return parser


def _paths(workdir):
    workdir = os.path.abspath(workdir)
    return {name: os.path.join(workdir, "smtp." + name) for name in ("pid", "json", "log")}


def _users(specs):
    if not specs:
        return {DEFAULT_USER: secrets.token_urlsafe(12)}
    users = {}
    for spec in specs:
        name, sep, password = spec.partition(":")
        if not sep or not name or not password:
            raise ValueError("--user wants NAME:PASSWORD, got %r" % spec.split(":", 1)[0])
        users[name] = password
    return users


def _write_private(path, data):
    tmp = path + ".tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(data, handle, indent=1)
    os.replace(tmp, path)


def _foreground(args, users):
    from . import start  # aiosmtpd is imported only when a server really starts
    workdir = os.path.abspath(args.workdir)
    paths = _paths(workdir)
    pki = TestPKI(os.path.abspath(args.pki_dir) if args.pki_dir else os.path.join(workdir, "pki"))
    server = start(workdir, pki, users=users, require_starttls=not args.no_starttls, require_auth=not args.no_auth,
                   port=args.port)
    try:
        _write_private(paths["json"], dict(server.as_dict(), pid=os.getpid()))
        with open(paths["pid"], "w") as handle:
            handle.write(str(os.getpid()))
        print("SMTP listening on %s:%d (pid %d), details in %s" % (server.host, server.port, os.getpid(),
                                                                   paths["json"]), flush=True)
        background.wait_for_stop_signal()
    finally:
        server.stop()
        for path in (paths["pid"], paths["json"]):
            if os.path.exists(path):
                os.unlink(path)
    return 0


def _background(args, users):
    workdir = os.path.abspath(args.workdir)
    os.makedirs(workdir, exist_ok=True)
    paths = _paths(workdir)
    for stale in (paths["pid"], paths["json"]):
        if os.path.exists(stale):
            os.unlink(stale)
    cmd = ["smtp", "--workdir", workdir, "--foreground", "--port", str(args.port)]
    # the accounts go to the child through the environment, never on a command line that ps shows
    os.environ["GRIDSEC_LAB_SMTP_USERS"] = json.dumps(users)
    for flag in ("no_starttls", "no_auth"):
        if getattr(args, flag):
            cmd.append("--" + flag.replace("_", "-"))
    if args.pki_dir:
        cmd += ["--pki-dir", os.path.abspath(args.pki_dir)]
    try:
        proc = background.spawn(cmd, paths["log"],
                                lambda: os.path.exists(paths["json"]) and os.path.exists(paths["pid"]), args.timeout)
    finally:
        os.environ.pop("GRIDSEC_LAB_SMTP_USERS", None)
    if proc is None:
        print("the SMTP server failed to start within %ss, see %s" % (args.timeout, paths["log"]), file=sys.stderr)
        return 1
    with open(paths["json"]) as handle:
        info = json.load(handle)
    print("SMTP listening on %s:%d (pid %d, log %s)" % (info["host"], info["port"], proc.pid, paths["log"]))
    print("details (CA file, credentials, mail directory): %s" % paths["json"])
    print("stop: python -m gridsec_lab smtp stop --workdir %s" % workdir)
    return 0


def main(argv=None):
    args = _parser().parse_args(argv)
    if args.stop or args.command == "stop":
        return background.stop(_paths(args.workdir)["pid"], "SMTP server")
    inherited = os.environ.pop("GRIDSEC_LAB_SMTP_USERS", None)
    try:
        users = json.loads(inherited) if inherited and not args.user else _users(args.user)
    except ValueError as err:
        print(str(err), file=sys.stderr)
        return 2
    return _foreground(args, users) if args.foreground else _background(args, users)
