"""Run by the Rucio venv's Python (not the lab's): bootstrap the database, then serve Rucio's Flask REST app.

``python server_child.py bootstrap``: ``build_database()``, ``create_base_vo()``, ``create_root_account()`` -- the
three calls of the shipped ``rucio/tools/bootstrap.py`` (ENFORCERS.md 3.6 step 4).

``python server_child.py serve PORTFILE CERT KEY CAFILE``: serves ``rucio.web.rest.flaskapi.v1.main:application``
over TLS on 127.0.0.1 (an ephemeral port, written to PORTFILE once listening). Client certificates are optional
and verified against CAFILE; the WSGI environment gets ``SSL_CLIENT_S_DN`` in RFC 2253 form (what Apache
mod_ssl ``SSLOptions +StdEnvVars`` gives, as Rucio's own test Apache, rucio/rucio etc/docker/test/extra/rucio.conf)
so that ``GET /auth/x509`` (``rucio/web/rest/flaskapi/v1/auth.py`` ``x509.get``) reads the caller's DN.
Standalone on purpose: only the standard library, werkzeug (a Rucio dependency) and rucio.
"""
import os
import ssl
import sys

_SHORT = {"countryName": "C", "stateOrProvinceName": "ST", "localityName": "L", "organizationName": "O",
          "organizationalUnitName": "OU", "commonName": "CN", "domainComponent": "DC", "userId": "UID",
          "emailAddress": "emailAddress"}


def _escape(value):
    out = "".join("\\" + ch if ch in ',+"\\<>;=' else ch for ch in value)
    if out.startswith((" ", "#")):
        out = "\\" + out
    if out.endswith(" "):
        out = out[:-1] + "\\ "
    return out


def rfc2253(subject):
    """``getpeercert()['subject']`` (RDNs in certificate order) -> RFC 2253 string (last RDN first)."""
    rdns = ["+".join("%s=%s" % (_SHORT.get(k, k), _escape(v)) for k, v in rdn) for rdn in subject]
    return ",".join(reversed(rdns))


def bootstrap():
    from rucio.db.sqla.util import build_database, create_base_vo, create_root_account
    build_database()
    create_base_vo()
    create_root_account()
    print("bootstrap done")


def serve(portfile, cert, key, cafile):
    from werkzeug.serving import WSGIRequestHandler, make_server
    from rucio.web.rest.flaskapi.v1.main import application

    class Handler(WSGIRequestHandler):
        def make_environ(self):
            env = super().make_environ()
            try:
                peer = self.connection.getpeercert()
            except (AttributeError, ValueError, ssl.SSLError):
                peer = None
            if peer and peer.get("subject"):
                env["SSL_CLIENT_S_DN"] = rfc2253(peer["subject"])
                env["SSL_CLIENT_VERIFY"] = "SUCCESS"
            return env

        def log_request(self, code="-", size="-"):
            sys.stderr.write("%s %s %s\n" % (self.command, self.path, code))

    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(cafile=cafile)
    ctx.verify_mode = ssl.CERT_OPTIONAL
    server = make_server("127.0.0.1", 0, application, threaded=True, request_handler=Handler, ssl_context=ctx)
    with open(portfile + ".new", "w") as handle:
        handle.write(str(server.server_port))
    os.replace(portfile + ".new", portfile)
    server.serve_forever()


if __name__ == "__main__":
    if sys.argv[1] == "bootstrap":
        bootstrap()
    else:
        serve(*sys.argv[2:6])
