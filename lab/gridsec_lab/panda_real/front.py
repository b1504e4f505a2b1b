"""TLS front for a real panda-server: runs inside the panda-server virtualenv.

Two roles in one file (only the standard library, ``cryptography`` and ``gridsec_lab.tls`` are needed
besides panda-server itself):

``supervisor``
    Holds the listening socket (127.0.0.1, ephemeral port chosen by the launcher), starts one *worker*
    process that imports ``pandaserver.server.panda:application`` and serves it, and restarts it on
    ``SIGHUP`` (rolling: the new worker is started and must report ready before the old one is stopped).
    It records its state in ``<workdir>/front-state.json`` (``generation``, ``worker_pid``, ``ready``,
    ``error``). ``SIGTERM`` stops the worker and the supervisor.

``worker``
    A threaded WSGI server (``wsgiref``) behind TLS. Client certificates are *optional* at the TLS layer
    (like Apache ``SSLVerifyClient optional``) but, when presented, verified against the lab CA directory
    with RFC 3820 proxies accepted. The WSGI environment gets what Apache/mod_ssl/mod_gridsite would give
    panda.py (PANDA.md section 11.4): ``SCRIPT_NAME`` = the request path (``WSGIScriptAliasMatch``),
    ``PATH_INFO`` empty, ``CONTENT_LENGTH`` "0" when absent, and for a verified client certificate
    ``SSL_CLIENT_S_DN`` (presented certificate's subject, OpenSSL slash form = ``+LegacyDNStringFormat``),
    ``SSL_CLIENT_I_DN``, ``SSL_CLIENT_VERIFY``, ``SSL_CLIENT_M_SERIAL``, ``SSL_CLIENT_V_START/END`` and
    ``GRST_CRED_0 = "X509USER <notBefore> <notAfter> 1 <EEC DN>"`` plus ``GRST_CRED_1 = "GSIPROXY ..."``
    for proxies (no VOMS: the lab has no attribute certificates). Identity comes only from the verified
    certificate; request headers never set these variables.

    RFC 3820 *limited* proxies: mod_ssl cannot express the proxy policy, and a legacy (Globus GT2) limited
    proxy is recognisable by its subject ending in ``/CN=limited proxy``, which is what panda-server tests
    (``is_secure``). The front presents an RFC 3820 limited-policy proxy the same way, ``SSL_CLIENT_S_DN =
    <EEC DN>/CN=limited proxy``, so that the server's own check decides. This is the one place where the
    front departs from a literal mod_ssl rendering.

The ban list cache of panda.py (``CachedObject("ban_list", 600, ...)``) lives in the worker process, so a
``SIGHUP`` (worker restart) is how the launcher makes it fresh.
"""
import argparse
import datetime
import json
import os
import signal
import socket
import socketserver
import ssl
import subprocess
import sys
import time
import traceback
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

from cryptography import x509

STATE_FILE = "front-state.json"


def _log(msg):
    sys.stderr.write("%s [%s pid=%d] %s\n" % (datetime.datetime.now().isoformat(timespec="seconds"),
                                              "front", os.getpid(), msg))
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# worker
# --------------------------------------------------------------------------------------------------
def _epoch(dt):
    return int(dt.replace(tzinfo=datetime.timezone.utc).timestamp()) if dt.tzinfo is None else int(dt.timestamp())


def _chain(sslsock):
    """Verified chain as cryptography certificates, leaf first (CA last)."""
    try:
        chain = sslsock._sslobj.get_verified_chain()  # Python 3.10-3.12: private, present
        return [x509.load_der_x509_certificate(c.public_bytes(ssl._ssl.ENCODING_DER)) for c in chain]
    except Exception:  # pragma: no cover - fall back to the leaf only
        der = sslsock.getpeercert(binary_form=True)
        return [x509.load_der_x509_certificate(der)] if der else []


def ssl_environ(sslsock):
    """mod_ssl / mod_gridsite-like variables for the verified client certificate (empty without one)."""
    from gridsec_lab.pki import name_to_slash
    from gridsec_lab.tls import peer_identity, _proxy_info

    env = {"HTTPS": "on", "SSL_PROTOCOL": sslsock.version() or "", "SSL_CIPHER": (sslsock.cipher() or ("",))[0]}
    ident = peer_identity(sslsock)
    if ident is None:
        env["SSL_CLIENT_VERIFY"] = "NONE"
        return env
    chain = _chain(sslsock)
    leaf = chain[0]
    env["SSL_CLIENT_VERIFY"] = "SUCCESS"
    env["SSL_CLIENT_S_DN"] = ident.leaf_dn
    env["SSL_CLIENT_I_DN"] = name_to_slash(leaf.issuer)
    env["SSL_CLIENT_M_SERIAL"] = "%X" % leaf.serial_number
    env["SSL_CLIENT_V_START"] = leaf.not_valid_before_utc.strftime("%b %d %H:%M:%S %Y GMT")
    env["SSL_CLIENT_V_END"] = leaf.not_valid_after_utc.strftime("%b %d %H:%M:%S %Y GMT")
    if ident.is_limited_proxy:
        env["SSL_CLIENT_S_DN"] = ident.dn + "/CN=limited proxy"
    # GridSite compact credentials: the end-entity certificate first, then each proxy level.
    non_ca = [c for c in chain if not _is_ca(c)]
    eec = [c for c in non_ca if _proxy_info(c) is None]
    proxies = [c for c in non_ca if _proxy_info(c) is not None]
    index = 0
    if eec:
        cert = eec[0]
        env["GRST_CRED_%d" % index] = "X509USER %d %d 1 %s" % (
            _epoch(cert.not_valid_before_utc), _epoch(cert.not_valid_after_utc), name_to_slash(cert.subject))
        index += 1
    for level, cert in enumerate(reversed(proxies), start=1):
        env["GRST_CRED_%d" % index] = "GSIPROXY %d %d %d %s" % (
            _epoch(cert.not_valid_before_utc), _epoch(cert.not_valid_after_utc), level, name_to_slash(cert.subject))
        index += 1
    return env


def _is_ca(cert):
    try:
        return cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    except x509.ExtensionNotFound:
        return False


class _Handler(WSGIRequestHandler):
    def get_environ(self):
        env = super().get_environ()
        path = env.get("PATH_INFO", "")
        # WSGIScriptAliasMatch ^(/server/panda/.+)|(/api/.+)$: the whole path is the script name.
        env["SCRIPT_NAME"] = path
        env["PATH_INFO"] = ""
        if not env.get("CONTENT_LENGTH"):
            env["CONTENT_LENGTH"] = "0"
        env.pop("REMOTE_HOST", None)  # Apache with HostnameLookups Off
        env["wsgi.url_scheme"] = "https"
        for key in list(env):  # never let a request header look like a TLS variable
            if key.startswith(("HTTP_SSL_", "HTTP_GRST_")):
                del env[key]
        env.update(self.server.tls_environ.get(id(self.connection), {}))
        return env

    def log_message(self, fmt, *args):
        sys.stderr.write("%s - - [%s] %s\n" % (self.address_string(), self.log_date_time_string(), fmt % args))


class _TLSWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, sock, context):
        self.context = context
        self.tls_environ = {}
        socketserver.BaseServer.__init__(self, sock.getsockname(), _Handler)
        self.socket = sock
        self.server_name = "localhost"
        self.server_port = sock.getsockname()[1]
        self.setup_environ()

    def server_bind(self):  # socket is inherited, already bound and listening
        pass

    def process_request_thread(self, request, client_address):
        tls = None
        try:
            # wsgiref writes the status/headers and the body in separate sends: without TCP_NODELAY the
            # body waits for the client's delayed ACK (~40 ms per request)
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            request.settimeout(60)
            tls = self.context.wrap_socket(request, server_side=True, do_handshake_on_connect=False)
            tls.do_handshake()
            self.tls_environ[id(tls)] = ssl_environ(tls)
            self.finish_request(tls, client_address)
        except (ssl.SSLError, OSError) as exc:
            _log("TLS connection from %s failed: %s" % (client_address, exc))
        except Exception:
            self.handle_error(request, client_address)
        finally:
            if tls is not None:
                self.tls_environ.pop(id(tls), None)
            self.shutdown_request(tls or request)


def run_worker(args):
    from gridsec_lab.tls import server_context

    sock = socket.socket(fileno=args.fd)
    context = server_context(args.cert, args.key, args.ca_dir, require_client_cert=False)
    started = time.monotonic()
    _log("importing pandaserver.server.panda (PANDA_HOME=%s)" % os.environ.get("PANDA_HOME"))
    from pandaserver.server.panda import application  # noqa: E402  (connects to the DB, ~seconds)

    server = _TLSWSGIServer(sock, context)
    server.set_app(application)
    _log("ready after %.1fs on %s" % (time.monotonic() - started, sock.getsockname()))
    with os.fdopen(args.ready_fd, "w") as ready:
        ready.write("ready %d\n" % os.getpid())
    signal.signal(signal.SIGTERM, lambda *a: os._exit(0))
    server.serve_forever(poll_interval=0.2)


# --------------------------------------------------------------------------------------------------
# supervisor
# --------------------------------------------------------------------------------------------------
class Supervisor:
    def __init__(self, args):
        self.args = args
        self.sock = socket.socket(fileno=args.fd)
        self.worker = None
        self.generation = 0
        self.restart_requested = False
        self.stopping = False

    def write_state(self, **fields):
        state = {"supervisor_pid": os.getpid(), "generation": self.generation,
                 "worker_pid": self.worker.pid if self.worker else None, "port": self.sock.getsockname()[1]}
        state.update(fields)
        path = os.path.join(self.args.workdir, STATE_FILE)
        with open(path + ".tmp", "w") as handle:
            json.dump(state, handle)
        os.replace(path + ".tmp", path)

    def spawn(self):
        read_fd, write_fd = os.pipe()
        cmd = [sys.executable, "-m", "gridsec_lab.panda_real.front", "worker", "--fd", str(self.sock.fileno()),
               "--ready-fd", str(write_fd), "--cert", self.args.cert, "--key", self.args.key,
               "--ca-dir", self.args.ca_dir, "--workdir", self.args.workdir]
        log = open(os.path.join(self.args.workdir, "logs", "worker.log"), "a")
        env = {k: v for k, v in os.environ.items() if k != "GRIDSEC_PANDA_REAL_ADMIN_DSN"}
        proc = subprocess.Popen(cmd, pass_fds=(self.sock.fileno(), write_fd), stdout=log, stderr=log, env=env)
        log.close()
        os.close(write_fd)
        deadline = time.monotonic() + self.args.worker_timeout
        buf = b""
        os.set_blocking(read_fd, False)
        while time.monotonic() < deadline:
            try:
                chunk = os.read(read_fd, 100)
            except BlockingIOError:
                chunk = None
            if chunk:
                buf += chunk
                if b"\n" in buf:
                    os.close(read_fd)
                    return proc
            elif chunk == b"" or proc.poll() is not None:
                break
            time.sleep(0.1)
        os.close(read_fd)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
            raise RuntimeError("worker not ready after %ds (see logs/worker.log)" % self.args.worker_timeout)
        raise RuntimeError("worker exited with code %s before it was ready (see logs/worker.log)" % proc.returncode)

    def stop_worker(self, proc):
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def run(self):
        signal.signal(signal.SIGHUP, self._on_hup)
        signal.signal(signal.SIGTERM, self._on_term)
        signal.signal(signal.SIGINT, self._on_term)
        try:
            self.worker = self.spawn()
        except Exception as exc:
            self.write_state(ready=False, error=str(exc))
            _log("start failed: %s" % exc)
            return 1
        self.generation = 1
        self.write_state(ready=True, error=None)
        _log("worker %d ready (generation 1)" % self.worker.pid)
        parent = os.getppid()
        while not self.stopping:
            if self.args.watch_parent and os.getppid() != parent:
                _log("launching process %d is gone: stopping" % parent)
                self.stopping = True
                self.orphaned = True
                break
            if self.restart_requested:
                self.restart_requested = False
                self._restart()
            elif self.worker.poll() is not None:
                _log("worker %d died with code %s; restarting" % (self.worker.pid, self.worker.returncode))
                self._restart()
            time.sleep(0.1)
        self.stop_worker(self.worker)
        if getattr(self, "orphaned", False) and self.args.drop_db:
            self._drop_database()
        self.write_state(ready=False, error=None, stopped=True)
        _log("stopped")
        return 0

    def _drop_database(self):
        """Orphaned (the test session died without stopping us): drop the session database too."""
        import psycopg2

        try:
            conn = psycopg2.connect(os.environ.get("GRIDSEC_PANDA_REAL_ADMIN_DSN", ""))
            conn.autocommit = True
            with conn.cursor() as cur:
                cur.execute('DROP DATABASE IF EXISTS "%s" WITH (FORCE)' % self.args.drop_db.replace('"', ""))
            conn.close()
            _log("dropped database %s" % self.args.drop_db)
        except Exception as exc:
            _log("could not drop database %s: %s" % (self.args.drop_db, exc))

    def _restart(self):
        old = self.worker
        try:
            new = self.spawn()
        except Exception as exc:
            self.write_state(ready=old is not None and old.poll() is None, error="restart failed: %s" % exc,
                             failed_generation=self.generation + 1)
            _log("restart failed: %s" % exc)
            return
        self.worker = new
        self.stop_worker(old)
        self.generation += 1
        self.write_state(ready=True, error=None)
        _log("worker %d ready (generation %d), old worker %s stopped" % (new.pid, self.generation,
                                                                          old.pid if old else None))

    def _on_hup(self, *args):
        self.restart_requested = True

    def _on_term(self, *args):
        self.stopping = True


def main(argv=None):
    parser = argparse.ArgumentParser(prog="gridsec_lab.panda_real.front")
    parser.add_argument("role", choices=("supervisor", "worker"))
    parser.add_argument("--fd", type=int, required=True, help="inherited listening socket")
    parser.add_argument("--ready-fd", type=int)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--ca-dir", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--worker-timeout", type=int, default=240)
    parser.add_argument("--watch-parent", action="store_true",
                        help="stop (and drop --drop-db) when the launching process disappears")
    parser.add_argument("--drop-db", default=None, help="database to drop when orphaned "
                        "(admin DSN in $GRIDSEC_PANDA_REAL_ADMIN_DSN, kept off the command line)")
    args = parser.parse_args(argv)
    if args.role == "worker":
        try:
            run_worker(args)
        except Exception:
            traceback.print_exc()
            return 1
        return 0
    return Supervisor(args).run()


if __name__ == "__main__":
    sys.exit(main())
