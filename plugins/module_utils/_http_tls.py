# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Why a TLS handshake of ``_http.HttpTransport`` failed: the text of the ``TLSError`` it raises.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Apart from ``_http.py`` because it is needed only when a handshake fails: a module run that connects does not
compile it (AnsiballZ imports module_utils from a zip, without cached bytecode).
"""

import socket

from ansible_collections.gridsec.ops.plugins.module_utils._errors import TLSError
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import NO_CREDENTIAL_HINT

# OpenSSL's words for a first "record" that is no TLS record (e.g. "HTTP/1.1 400" or an SSH banner): the port
# speaks another protocol. Texts of OpenSSL 1.1 to 3.x.
_NOT_TLS_TEXTS = ("wrong version number", "wrong_version_number", "packet length too long", "unknown protocol",
                  "record layer failure", "record_layer_failure", "http request")
_EOF_TEXTS = ("eof occurred", "unexpected eof", "connection reset")


def tls_error(transport, exc, operation, origin=None):
    """``TLSError`` saying why the handshake with ``origin`` (``(scheme, host, port)``, given when the
    failure was in the handshake itself) failed."""
    text = str(exc)
    lowered = text.lower()
    no_credential = transport.client_credential is None
    if origin is not None and _not_tls(lowered, origin, transport.timeout):
        return TLSError("%s:%s does not speak TLS (plain HTTP?): it answered the TLS handshake in another "
                        "protocol; check the port (and the scheme) of %s; nothing was sent (%s)"
                        % (origin[1], origin[2], transport.base_url, text), server=transport.server_label,
                        operation=operation, details={"url": transport.base_url, "not_tls": True})
    if "certificate_verify_failed" in lowered or "certificate verify failed" in lowered:
        hint = "server certificate not trusted by CA path %s" % (transport.ca_path or "(system default)")
        # Python's texts: "Hostname mismatch, certificate is not valid for 'x'", "IP address mismatch ..."
        if "hostname" in lowered or "ip address mismatch" in lowered:
            hint = "server certificate does not match the host name in %s" % transport.base_url
        elif "expired" in lowered or "not yet valid" in lowered:
            hint = "server certificate expired or not yet valid"
    elif "bad decrypt" in lowered or "bad password" in lowered:
        hint = "cannot decrypt the client key: check client_key_passphrase"
    elif any(word in lowered for word in ("key values mismatch", "pem lib", "no such file", "no start line")):
        hint = "cannot load the client certificate/key"
    elif no_credential and any(word in lowered for word in (
            "alert", "certificate required", "eof occurred", "unexpected eof", "connection reset",
            "handshake failure")):
        hint = ("the server requires a client certificate, but " + NO_CREDENTIAL_HINT % transport.default_proxy)
    elif any(word in lowered for word in ("alert", "certificate required", "unknown ca", "bad certificate",
                                          "certificate unknown", "expired")):
        hint = "client certificate rejected by the server (%s)" % _credential_text(transport)
    elif "eof occurred" in lowered or "unexpected eof" in lowered or "connection reset" in lowered:
        # Servers that refuse the client certificate often just close the connection mid-handshake.
        hint = ("server closed the TLS connection: client certificate rejected (%s; check that the server "
                "trusts its CA)" % _credential_text(transport))
    else:
        hint = "TLS handshake failed"
    return TLSError("%s (%s)" % (hint, text), server=transport.server_label, operation=operation,
                    details={"url": transport.base_url, "ca_path": transport.ca_path,
                             "credential_source": transport.credential.source})


def _credential_text(transport):
    cred = transport.credential
    if cred.kind == "proxy":
        return "proxy %s from %s" % (cred.cert, cred.source)
    if cred.kind == "pair":
        return "certificate %s from %s" % (cred.cert, cred.source)
    return "no client credential"


def _not_tls(lowered, origin, timeout):
    """True when a failed handshake with ``origin`` shows a peer that does not speak TLS: OpenSSL read a first
    record that is no TLS record, or the peer hung up on the ClientHello (a plain HTTP server that drops a
    request it cannot parse, but also a TLS server refusing the client) and answers plain HTTP on a new
    connection."""
    if any(word in lowered for word in _NOT_TLS_TEXTS):
        return True
    if not any(word in lowered for word in _EOF_TEXTS):
        return False
    return _answers_plain_http(origin[1], origin[2], min(timeout or 5, 5))


def _answers_plain_http(host, port, timeout):
    """True when ``host:port`` answers ``HEAD / HTTP/1.0`` with an HTTP status line (only asked after a
    handshake that the peer hung up on: a TLS server answers it with an alert or closes)."""
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"HEAD / HTTP/1.0\r\nHost: %s\r\n\r\n" % host.encode("idna"))
            return sock.recv(5) == b"HTTP/"
    except (OSError, UnicodeError):
        return False
