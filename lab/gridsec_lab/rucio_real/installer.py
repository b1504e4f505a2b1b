"""Install a real Rucio 41.5.1 server into its own virtualenv inside the checkout (idempotent, stamped).

Layout under ``GRIDSEC_RUCIO_REAL_HOME`` (default ``<repo>/.tmp/rucio-real``):

    venv/            the Rucio virtualenv (``pip install rucio==41.5.1``; SQLite needs no server extras)
    install.log      output of the pip runs of the last installation
    installed.json   stamp written last; a matching stamp means "installed, reuse"

ENFORCERS.md section 3.6 step 1: about 6 s for the venv and 28 s for pip on this machine.
"""
import fcntl
import json
import os
import subprocess
import sys
import time

RUCIO_VERSION = "41.5.1"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
STAMP_VERSION = 1
_NETWORK_HINTS = ("Could not find a version that satisfies", "No matching distribution found",
                  "Failed to establish a new connection", "Temporary failure in name resolution",
                  "Network is unreachable", "Max retries exceeded", "ConnectTimeoutError", "ReadTimeoutError",
                  "Name or service not known", "ProxyError")


class InstallError(RuntimeError):
    """Installing Rucio failed. ``network`` is True when the package index could not be reached."""

    def __init__(self, msg, network=False):
        super().__init__(msg)
        self.network = network


def default_home():
    return os.path.abspath(os.environ.get("GRIDSEC_RUCIO_REAL_HOME") or os.path.join(REPO_ROOT, ".tmp", "rucio-real"))


def venv_python(home=None):
    return os.path.join(home or default_home(), "venv", "bin", "python")


def _expected():
    return {"stamp_version": STAMP_VERSION, "rucio": RUCIO_VERSION,
            "python": "%d.%d" % sys.version_info[:2]}


def is_installed(home=None):
    home = home or default_home()
    try:
        with open(os.path.join(home, "installed.json")) as handle:
            stamp = json.load(handle)
    except (OSError, ValueError):
        return False
    return all(stamp.get(k) == v for k, v in _expected().items()) and os.path.exists(venv_python(home))


def _run(cmd, log):
    log.write("\n$ %s\n" % " ".join(cmd))
    log.flush()
    started = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write(proc.stdout)
    log.write("[exit %d after %.1fs]\n" % (proc.returncode, time.monotonic() - started))
    log.flush()
    if proc.returncode != 0:
        hints = [line.strip() for line in proc.stdout.splitlines() if any(h in line for h in _NETWORK_HINTS)]
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        cause = ("package index unreachable (%s); " % hints[-1][:200]) if hints else ""
        raise InstallError("%scommand failed (exit %d): %s\n--- output tail ---\n%s"
                           % (cause, proc.returncode, " ".join(cmd), tail), network=bool(hints))


def install(home=None, python=None):
    """Install once; returns ``{"seconds": float, "reused": bool, "home": path}``. Concurrent callers wait."""
    home = home or default_home()
    os.makedirs(home, exist_ok=True)
    started = time.monotonic()
    with open(os.path.join(home, ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(home):
            return {"seconds": 0.0, "reused": True, "home": home}
        stamp = os.path.join(home, "installed.json")
        if os.path.exists(stamp):
            os.unlink(stamp)
        venv = os.path.join(home, "venv")
        with open(os.path.join(home, "install.log"), "w") as log:
            _run([python or sys.executable, "-m", "venv", "--clear", venv], log)
            _run([venv_python(home), "-m", "pip", "install", "--no-input", "rucio==%s" % RUCIO_VERSION], log)
        seconds = time.monotonic() - started
        with open(stamp + ".new", "w") as handle:
            json.dump(dict(_expected(), seconds=round(seconds, 1)), handle)
        os.replace(stamp + ".new", stamp)
        return {"seconds": seconds, "reused": False, "home": home}


if __name__ == "__main__":
    print(json.dumps(install()))
