"""Install a real panda-server 1.0.4 into its own virtualenv (idempotent, stamped).

Layout under the cache home (env ``GRIDSEC_PANDA_REAL_HOME``, default ``<repo>/.tmp/panda-real``):

    venv/              the panda-server virtualenv (Python 3.11)
    wheels/            the panda_server wheel built from the PyPI sdist
    install.log        output of every pip run of the last installation
    installed.json     stamp: written last; a matching stamp means "installed, reuse"

PyPI ships only an sdist for 1.0.4. Its hatch build hook picks user ``atlpan`` / group ``zp`` when the
build runs with group id 0 and then fails in ``pwd.getpwnam`` (PANDA.md section 11.1). We therefore run the
wheel build with a non-zero group id: as root through ``subprocess``'s ``group=`` (the ``nogroup``/``nobody``
group, no user account is created); as an ordinary user nothing special is needed. ``mod_wsgi`` is skipped
(needs Apache ``apxs``); the dependencies are installed from the pinned lock file next to this module
(``requirements.lock``), plus ``psycopg2-binary`` (the ``postgres`` extra).
"""
import datetime
import fcntl
import grp
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time

PANDA_SERVER_VERSION = "1.0.4"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
LOCK_FILE = os.path.join(HERE, "requirements.lock")
STAMP_VERSION = 1


class InstallError(RuntimeError):
    """Installing panda-server failed. ``network`` is True when PyPI could not be reached."""

    def __init__(self, msg, network=False):
        super().__init__(msg)
        self.network = network


def default_home():
    return os.path.abspath(os.environ.get("GRIDSEC_PANDA_REAL_HOME") or os.path.join(REPO_ROOT, ".tmp", "panda-real"))


def venv_python(home=None):
    return os.path.join(home or default_home(), "venv", "bin", "python")


def _lock_digest():
    if not os.path.exists(LOCK_FILE):
        return None
    with open(LOCK_FILE, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _expected_stamp():
    return {"stamp_version": STAMP_VERSION, "panda_server": PANDA_SERVER_VERSION, "lock_sha256": _lock_digest()}


def is_installed(home=None):
    home = home or default_home()
    stamp_path = os.path.join(home, "installed.json")
    try:
        with open(stamp_path) as handle:
            stamp = json.load(handle)
    except (OSError, ValueError):
        return False
    expected = _expected_stamp()
    return all(stamp.get(k) == v for k, v in expected.items()) and os.path.exists(venv_python(home))


_NETWORK_HINTS = ("Could not find a version that satisfies", "No matching distribution found",
                  "Failed to establish a new connection", "Temporary failure in name resolution",
                  "Network is unreachable", "Max retries exceeded", "ConnectTimeoutError", "ReadTimeoutError",
                  "Name or service not known", "ProxyError")


def _run(cmd, log, **kwargs):
    log.write("\n$ %s\n" % " ".join(cmd))
    log.flush()
    started = time.monotonic()
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)
    log.write(proc.stdout)
    log.write("[exit %d after %.1fs]\n" % (proc.returncode, time.monotonic() - started))
    log.flush()
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-25:])
        hints = [line.strip() for line in proc.stdout.splitlines() if any(h in line for h in _NETWORK_HINTS)]
        cause = ("package index unreachable (%s); " % hints[-1][:200]) if hints else ""
        raise InstallError("%scommand failed (exit %d): %s\n--- output tail ---\n%s"
                           % (cause, proc.returncode, " ".join(cmd), tail), network=bool(hints))
    return proc.stdout


def _build_group():
    """Group id for the wheel build: the current one unless it is 0 (see the module docstring)."""
    if os.getgid() != 0:
        return None
    if os.geteuid() != 0:
        raise InstallError("the panda-server 1.0.4 build hook cannot run with group id 0 as a non-root user; "
                           "run as a user whose primary group is not root")
    for name in ("nogroup", "nobody"):
        try:
            return grp.getgrnam(name).gr_gid
        except KeyError:
            continue
    return 65534


SUPPORTED_PYTHONS = ("3.11", "3.10")  # the 1.0.4 build hook imports distutils (gone in 3.12)


def _python_version(python):
    try:
        out = subprocess.run([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def base_python():
    """Interpreter for the panda-server venv: ``$GRIDSEC_PANDA_REAL_PYTHON``, else the running one if it is
    3.10/3.11, else ``python3.11``/``python3.10`` from PATH."""
    explicit = os.environ.get("GRIDSEC_PANDA_REAL_PYTHON")
    if explicit:
        return explicit
    candidates = [getattr(sys, "_base_executable", None) or sys.executable]
    candidates += [shutil.which(name) for name in ("python3.11", "python3.10")]
    for python in candidates:
        if python and _python_version(python) in SUPPORTED_PYTHONS:
            return python
    raise InstallError("panda-server 1.0.4 needs Python 3.10 or 3.11 to build (its build hook imports "
                       "distutils): install python3.11 or set GRIDSEC_PANDA_REAL_PYTHON")


def install(home=None, log_progress=None):
    """Install panda-server into ``home``/venv unless the stamp says it is there. Returns the home.
    Raises InstallError (with ``.network`` set when PyPI was unreachable)."""
    home = home or default_home()
    os.makedirs(home, exist_ok=True)
    with open(os.path.join(home, ".install.lock"), "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if is_installed(home):
            return home
        started = time.monotonic()
        say = log_progress or (lambda msg: None)
        venv = os.path.join(home, "venv")
        wheels = os.path.join(home, "wheels")
        stamp_path = os.path.join(home, "installed.json")
        if os.path.exists(stamp_path):
            os.unlink(stamp_path)
        shutil.rmtree(venv, ignore_errors=True)
        shutil.rmtree(wheels, ignore_errors=True)
        os.makedirs(wheels)
        env = dict(os.environ)
        for key in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PIP_REQUIRE_VIRTUALENV"):
            env.pop(key, None)
        env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
        env["VIRTUAL_ENV"] = venv  # the build hook uses it for its (harmless) var/log/panda dirs
        pip = [os.path.join(venv, "bin", "python"), "-m", "pip"]
        with open(os.path.join(home, "install.log"), "w") as log:
            log.write("installing panda-server %s at %s\n" % (PANDA_SERVER_VERSION, datetime.datetime.now()))
            say("creating virtualenv %s" % venv)
            python = base_python()
            _run([python, "-m", "venv", venv], log, env=env)
            say("building the panda-server %s wheel from the PyPI sdist" % PANDA_SERVER_VERSION)
            _run(pip + ["wheel", "--no-deps", "-w", wheels, "panda-server==%s" % PANDA_SERVER_VERSION], log,
                 env=env, group=_build_group(), cwd=home)
            built = [f for f in os.listdir(wheels) if f.startswith("panda_server-") and f.endswith(".whl")]
            if len(built) != 1:
                raise InstallError("expected one panda_server wheel in %s, found %r" % (wheels, built))
            wheel = os.path.join(wheels, built[0])
            say("installing the wheel and its dependencies (without mod_wsgi)")
            _run(pip + ["install", "--no-deps", wheel], log, env=env)
            if os.path.exists(LOCK_FILE):
                _run(pip + ["install", "--no-deps", "-r", LOCK_FILE], log, env=env)
            else:
                deps = _wheel_requirements(venv, env, log)
                _run(pip + ["install"] + deps + ["psycopg2-binary"], log, env=env)
            elapsed = time.monotonic() - started
            stamp = _expected_stamp()
            stamp.update({"python": _python_version(os.path.join(venv, "bin", "python")), "installed_at": datetime.datetime.now().isoformat(timespec="seconds"),
                          "seconds": round(elapsed, 1), "wheel": built[0]})
            tmp = stamp_path + ".tmp"
            with open(tmp, "w") as handle:
                json.dump(stamp, handle, indent=2)
            os.replace(tmp, stamp_path)
            log.write("installed in %.1fs\n" % elapsed)
            say("panda-server installed in %.0f s" % elapsed)
    return home


def _wheel_requirements(venv, env, log):
    """Hard dependencies of the installed panda-server distribution, minus mod_wsgi."""
    code = ("import importlib.metadata as m, json;"
            "print(json.dumps([r for r in (m.requires('panda-server') or []) if 'extra ==' not in r]))")
    out = _run([os.path.join(venv, "bin", "python"), "-c", code], log, env=env)
    reqs = json.loads(out.strip().splitlines()[-1])
    return [r for r in reqs if not r.lower().replace("_", "-").startswith("mod-wsgi")]


if __name__ == "__main__":
    install(log_progress=lambda m: print(m, flush=True))
    print(json.dumps(json.load(open(os.path.join(default_home(), "installed.json"))), indent=2))
