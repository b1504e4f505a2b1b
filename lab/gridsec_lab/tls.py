"""TLS helpers for lab servers: a server context that asks for client certificates and accepts
RFC 3820 proxies, and the caller identity the way grid services see it.

Python's ``getpeercert()`` only shows the leaf certificate. For a proxy chain the leaf is the proxy;
its issuer is the user (or the previous proxy). Grid services identify the caller by the end-entity
certificate, so :func:`peer_identity` strips the proxy levels.
"""
import dataclasses
import http.server
import logging
import re
import socket
import ssl

from cryptography import x509

from .pki import PROXY_CERT_INFO_OID, POLICY_LIMITED, _der_oid, name_to_slash

_PROXY_CN = re.compile(r"/CN=(\d+|proxy|limited proxy)$")


@dataclasses.dataclass(frozen=True)
class PeerIdentity:
    dn: str              # end-entity DN, OpenSSL slash form (what pap_authorization.ini and PanDA use)
    leaf_dn: str         # DN of the presented certificate (the proxy's own DN for proxies)
    is_proxy: bool
    is_limited_proxy: bool


def server_context(cert, key, ca_dir, require_client_cert=True):
    """Server-side context verifying clients against the hashed CA dir, proxies allowed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    ctx.load_verify_locations(capath=ca_dir)
    ctx.verify_mode = ssl.CERT_REQUIRED if require_client_cert else ssl.CERT_OPTIONAL
    # OpenSSL rejects RFC 3820 proxy certificates unless told to accept them.
    ctx.verify_flags |= ssl.VERIFY_ALLOW_PROXY_CERTS
    return ctx


def nodelay(sock):
    """TCP_NODELAY on an accepted socket: a reply written in more than one send (headers, then body)
    must not wait for the client's delayed ACK (Nagle), which costs ~40 ms per request/response."""
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError:  # not TCP (e.g. a socketpair in tests)
        pass
    return sock


def peer_identity(ssl_socket):
    """The caller's identity from a TLS socket whose handshake is complete, or None."""
    der = ssl_socket.getpeercert(binary_form=True)
    if not der:
        return None
    leaf = x509.load_der_x509_certificate(der)
    leaf_dn = name_to_slash(leaf.subject)
    proxy_info = _proxy_info(leaf)
    if proxy_info is None:
        return PeerIdentity(dn=leaf_dn, leaf_dn=leaf_dn, is_proxy=False, is_limited_proxy=False)
    # A proxy's issuer is the user or, for proxies of proxies, another proxy: strip numeric
    # (RFC 3820) and legacy 'proxy'/'limited proxy' CNs from the end of the issuer DN.
    dn = name_to_slash(leaf.issuer)
    limited = _der_oid(POLICY_LIMITED) in proxy_info
    while _PROXY_CN.search(dn):
        dn = _PROXY_CN.sub("", dn)
    return PeerIdentity(dn=dn, leaf_dn=leaf_dn, is_proxy=True, is_limited_proxy=limited)


def _proxy_info(cert):
    try:
        return cert.extensions.get_extension_for_oid(PROXY_CERT_INFO_OID).value.value
    except x509.ExtensionNotFound:
        return None



class TLSThreadingHTTPServer(http.server.ThreadingHTTPServer):
    """The lab servers' HTTPS listener: one thread per connection, the TLS handshake in that thread (a slow client
    blocks nobody), TCP_NODELAY and a 30 s socket timeout. ``ssl_ctx`` is the server context."""
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64

    def __init__(self, addr, ctx, handler):
        self.ssl_ctx = ctx
        super().__init__(addr, handler)

    def process_request_thread(self, request, client_address):
        try:
            nodelay(request)
            request.settimeout(30)
            tls = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError) as exc:
            logging.getLogger(__name__).debug("TLS handshake with %s failed: %s", client_address, exc)
            self.shutdown_request(request)
            return
        super().process_request_thread(tls, client_address)
