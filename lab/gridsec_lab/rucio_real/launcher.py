"""Start and stop one real Rucio 41.5.1 server (SQLite database, TLS on 127.0.0.1) for the rucio_real tier.

Recipe: ENFORCERS.md section 3.6 (config without ``multi_vo``, alembic.ini with the logging sections, the
bootstrap calls, the Flask app under werkzeug). ``start()`` returns a :class:`RucioEndpoint`; ``stop()`` ends the
server process it started (by its PID) and nothing else.
"""
import os
import shutil
import subprocess
import sys
import time

from . import installer

HERE = os.path.dirname(os.path.abspath(__file__))
CHILD = os.path.join(HERE, "server_child.py")
START_TIMEOUT = float(os.environ.get("GRIDSEC_RUCIO_REAL_START_TIMEOUT", "180"))
ROOT_USERNAME = "ddmlab"

CONFIG = """[common]
logdir = {w}/log
loglevel = WARNING
[database]
default = sqlite:///{w}/rucio.db
[bootstrap]
userpass_identity = {user}
userpass_pwd = {password}
userpass_email = root@example.invalid
[alembic]
cfg = {w}/etc/alembic.ini
[policy]
permission = generic
schema = generic
[cache]
url = 127.0.0.1:1
[monitor]
enable_metrics = False
"""
# No multi_vo key: create_root_account tests bool(config_get(...)), so the string "False" is true (ENFORCERS 3.6).


class StartError(RuntimeError):
    pass


class RucioEndpoint:
    def __init__(self, workdir, url, proc, root_password, timings):
        self.workdir = workdir
        self.url = url
        self.proc = proc
        self.root_account = "root"
        self.root_username = ROOT_USERNAME
        self.root_password = root_password
        self.timings = timings
        self.log_path = os.path.join(workdir, "server.log")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def log_tail(self, lines=40):
        try:
            with open(self.log_path, errors="replace") as handle:
                return "".join(handle.readlines()[-lines:])
        except OSError:
            return ""


def _alembic_ini(workdir, venv_site):
    template = os.path.join(installer.default_home(), "venv", "rucio", "etc", "alembic.ini.template")
    with open(template) as handle:
        text = handle.read()
    logging_part = text[text.index("[loggers]"):]
    return ("[alembic]\nscript_location = %s\nsqlalchemy.url = sqlite:///%s/rucio.db\n\n%s"
            % (os.path.join(venv_site, "rucio", "db", "sqla", "migrate_repo"), workdir, logging_part))


def start(workdir, pki, root_password="lab-root-secret"):
    """Bootstrap a fresh database in ``workdir`` and serve Rucio over TLS with a host credential of ``pki``."""
    timings = {}
    t0 = time.monotonic()
    info = installer.install()
    timings["install_s"] = round(time.monotonic() - t0, 1) if not info["reused"] else 0.0
    python = installer.venv_python()
    site = subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    workdir = os.path.abspath(workdir)
    for sub in ("etc", "log"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    with open(os.path.join(workdir, "etc", "rucio.cfg"), "w") as handle:
        handle.write(CONFIG.format(w=workdir, user=ROOT_USERNAME, password=root_password))
    with open(os.path.join(workdir, "etc", "alembic.ini"), "w") as handle:
        handle.write(_alembic_ini(workdir, site))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RUCIO_", "X509_"))}
    env["RUCIO_CONFIG"] = os.path.join(workdir, "etc", "rucio.cfg")
    env["RUCIO_HOME"] = workdir
    t1 = time.monotonic()
    with open(os.path.join(workdir, "bootstrap.log"), "w") as log:
        proc = subprocess.run([python, CHILD, "bootstrap"], stdout=log, stderr=subprocess.STDOUT, env=env,
                              cwd=workdir, timeout=START_TIMEOUT)
    if proc.returncode != 0:
        with open(os.path.join(workdir, "bootstrap.log")) as handle:
            raise StartError("Rucio bootstrap failed (exit %d):\n%s" % (proc.returncode, handle.read()[-3000:]))
    timings["bootstrap_s"] = round(time.monotonic() - t1, 1)
    host = pki.host("rucio-real")
    portfile = os.path.join(workdir, "port")
    t2 = time.monotonic()
    log = open(os.path.join(workdir, "server.log"), "w")
    server = subprocess.Popen([python, CHILD, "serve", portfile, host.cert, host.key, pki.ca_cert_path],
                              stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir)
    log.close()
    deadline = time.monotonic() + START_TIMEOUT
    while not os.path.exists(portfile):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            with open(os.path.join(workdir, "server.log"), errors="replace") as handle:
                raise StartError("Rucio server did not start:\n%s" % handle.read()[-3000:])
        time.sleep(0.2)
    with open(portfile) as handle:
        port = int(handle.read())
    timings["serve_s"] = round(time.monotonic() - t2, 1)
    return RucioEndpoint(workdir, "https://localhost:%d" % port, server, root_password, timings)


def main():
    import tempfile
    sys.path.insert(0, os.path.dirname(os.path.dirname(HERE)))
    from gridsec_lab.pki import TestPKI
    work = tempfile.mkdtemp(prefix="rucio-real-")
    ep = start(os.path.join(work, "srv"), TestPKI(os.path.join(work, "pki")))
    print(ep.url, ep.timings)
    try:
        input("press enter to stop ")
    finally:
        ep.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
