"""HTTPS server of the lab PAP: ``/pap/services/<Service>`` (SOAP 1.1), ``?wsdl``, ``/pap/status``.

Client certificates are required (proxies accepted); the caller is the end-entity DN of the peer
(:func:`gridsec_lab.tls.peer_identity`). Every operation is authorised against the PAP's
``pap_authorization.ini`` ACL with the permission table of ARGUS.md §2 / §8.2.
"""
import http.server
import logging
import socket
import threading
import urllib.parse

from ..tls import TLSThreadingHTTPServer, peer_identity, server_context
from . import soap
from .distribution import Distributor
from .model import AuthzError, PapError
from .node import PapState
from .services import authz_management, highlevel, pap_management, provisioning, xacml_management
from .xmlutil import local

log = logging.getLogger("gridsec_lab.argus.server")

SERVICES = {
    "XACMLPolicyManagementService": xacml_management.OPERATIONS,
    "HighLevelPolicyManagementService": highlevel.OPERATIONS,
    "PAPManagementService": pap_management.OPERATIONS,
    "AuthorizationManagementService": authz_management.OPERATIONS,
}
PROVISIONING = "ProvisioningService"
SERVICES_PREFIX = "/pap/services/"
# No cap on a request body by default, as the real PAP: its Jetty 9 connector (italiangrid https-utils
# 0.4.0.jetty9 SSLContextConnectorConfigurator, used by argus-pap server/standalone/PAPServer) only bounds the
# request *headers* (HttpConfiguration.setRequestHeaderSize(8192)), and Axis 1 AxisServlet.doPost hands the
# whole input stream to new Message(...). What does bound it is the JVM heap (pap-env.sh: -Xmx256m): a request
# that exhausts it fails in AxisServlet.doPost's catch (Throwable) as an AxisFault of the error's toString().
# ``PapServer.max_request_bytes`` (None = unbounded) lets a test stand in for that heap limit.
HEAP_EXHAUSTED = "java.lang.OutOfMemoryError: Java heap space"


class _Ctx:
    def __init__(self, server, identity):
        self.server = server
        self.identity = identity

    def wake(self):
        self.server.distributor.wake()

    def refresh(self, alias):
        return self.server.distributor.refresh(alias)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "Jetty(gridsec-lab)"

    def log_message(self, fmt, *args):  # quiet
        log.debug("%s - %s", self.address_string(), fmt % args)

    def _send(self, status, body, ctype="text/xml; charset=utf-8"):
        # headers and body leave in ONE write: split sends make the body wait for the client's delayed
        # ACK (Nagle), ~40 ms per round trip
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers_and_body(body if self.command != "HEAD" else b"")

    def end_headers_and_body(self, body):
        self._headers_buffer.append(b"\r\n")
        self._headers_buffer.append(body)
        data = b"".join(self._headers_buffer)
        self._headers_buffer = []
        self.wfile.write(data)

    def do_GET(self):
        pap = self.server.pap
        url = urllib.parse.urlsplit(self.path)
        if url.path.rstrip("/") == "/pap/status":
            with pap.state.lock:
                text = "\n".join(pap.state.status_lines()) + "\n"
            return self._send(200, text.encode(), "text/plain; charset=utf-8")
        if url.path.startswith(SERVICES_PREFIX):
            service = url.path[len(SERVICES_PREFIX):].strip("/")
            if service in SERVICES or service == PROVISIONING:
                if url.query.lower().split("&")[0] == "wsdl":
                    from .wsdl import runtime_wsdl
                    base = "https://%s%s" % (self.headers.get("Host") or "localhost", SERVICES_PREFIX)
                    return self._send(200, runtime_wsdl(service, base + service))
                if url.query.lower().startswith("xsd"):
                    from .wsdl import xacml_xsd
                    return self._send(200, xacml_xsd())
                return self._send(200, b"<h1>%s</h1><p>Hi there, this is an AXIS service!</p>" % service.encode(),
                                  "text/html; charset=utf-8")
        self._send(404, b"Not Found", "text/plain")

    def do_POST(self):
        pap = self.server.pap
        url = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        limit = pap.max_request_bytes
        if limit is not None and length > limit:
            # what Axis answers when the heap runs out while it reads the request: nothing was written
            return self._send(500, soap.fault_response(HEAP_EXHAUSTED, "soapenv:Server.generalException"))
        service = url.path[len(SERVICES_PREFIX):].strip("/") if url.path.startswith(SERVICES_PREFIX) else None
        if service not in SERVICES and service != PROVISIONING:
            return self._send(404, soap.fault_response("The AXIS engine could not find a target service to invoke!"
                                                       "  targetService is %s" % service, "soapenv:Server.NoService"))
        identity = peer_identity(self.connection)
        try:
            reply = pap.dispatch(service, body, identity)
            status = 200
        except soap.SoapFault as fault:
            reply, status = soap.fault_response(fault.message, fault.code), fault.status
        except PapError as exc:  # Axis: faultstring = exception.toString() = "<java class>: <message>"
            reply, status = soap.fault_response(exc.faultstring), 500
        except Exception as exc:  # an internal error still answers a fault
            log.exception("internal error")
            reply, status = soap.fault_response("java.lang.RuntimeException: lab internal error: %s" % exc), 500
        self._send(status, reply)


class _HTTPServer(TLSThreadingHTTPServer):
    def __init__(self, addr, ctx, pap):
        self.pap = pap
        self.distributor = pap.distributor
        super().__init__(addr, ctx, _Handler)


class PapServer:
    """One lab PAP: state directory + HTTPS endpoint + distribution thread."""

    def __init__(self, directory, cert, key, ca_dir, *, host="127.0.0.1", port=0, name="pap", entity_id=None,
                 initial=None, conf_dir=None):
        self.name = name
        self.cert, self.key, self.ca_dir = cert, key, ca_dir
        self.host = host
        self.state = PapState(directory, entity_id=entity_id or "https://localhost/pap/%s" % name, hostname=host,
                              port=port, certificate=cert, private_key=key, trust_store_dir=ca_dir,
                              conf_dir=conf_dir)
        if initial:
            initial(self.state)
        self.distributor = Distributor(self.state, cert, key, ca_dir)
        self.httpd = _HTTPServer((host, port), server_context(cert, key, ca_dir), self)
        self.port = self.httpd.server_address[1]
        self.state.port = self.port
        if conf_dir is None:  # the lab's own file records the port; a real configuration is left alone
            self.state.save_config()
        self._thread = None
        self.provisioning_override = None  # test hook: "empty" answers PAP queries with no objects
        self.max_request_bytes = None  # test hook: a request body above it fails as a heap exhaustion would

    @property
    def base_url(self):
        return "https://localhost:%d/pap/services" % self.port

    def start(self):
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                        name="pap-%s" % self.name, daemon=True)
        self._thread.start()
        self.distributor.start()
        return self

    def stop(self):
        self.distributor.stop()
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=5)

    # -- dispatch --------------------------------------------------------------------------------------
    def _authorize(self, identity, perms, opclass):
        """BasePAPOperation.execute: PAPAuthzException "Insufficient privileges to perform operation
        '<OperationClass>'." when the caller lacks one of the operation's permissions."""
        if not perms:
            return
        dn = identity.dn if identity else None
        granted = self.state.acl.permissions_of(dn)
        missing = set(perms) - granted
        if missing:
            log.info("%s: %s lacks %s", opclass, dn, "|".join(sorted(missing)))
            raise AuthzError("Insufficient privileges to perform operation '%s'." % opclass)

    def dispatch(self, service, body, identity):
        op_el = soap.parse_request(body)
        name = local(op_el)
        if service == PROVISIONING:
            return self._provisioning(op_el, identity)
        ops = SERVICES[service]
        if name not in ops:
            raise soap.SoapFault("No such operation '%s'" % name, code="soapenv:Client")
        op = ops[name]
        args = soap.bind(op_el, op.params)
        ctx = _Ctx(self, identity)
        with self.state.lock:
            if op.precheck is not None:
                op.precheck(self.state, args)
            perms = op.perms(self.state, args) if callable(op.perms) else op.perms
            opclass = op.opclass(self.state, args) if callable(op.opclass) else (op.opclass or name)
            self._authorize(identity, perms, opclass)
            if op.lock:
                value = op.handler(self.state, args, ctx)
        if not op.lock:
            value = op.handler(self.state, args, ctx)
        return soap.rpc_response(op_el, name, value)

    def _provisioning(self, query, identity):
        try:
            is_pap_query = provisioning.check_query(query)
        except provisioning.QueryError as exc:
            with self.state.lock:
                return soap.document_response(provisioning.saml_response(self.state, query, error=str(exc)))
        with self.state.lock:
            self._authorize(identity, provisioning.required_permissions(is_pap_query),
                            "GetPoliciesForPAPOperation" if is_pap_query else "GetPoliciesForPDPOperation")
            if is_pap_query:
                objects = [] if self.provisioning_override == "empty" else provisioning.pap_query_objects(self.state)
            else:
                objects = provisioning.pdp_query_objects(self.state)
            return soap.document_response(provisioning.saml_response(self.state, query, objects))


def free_port(host="127.0.0.1"):
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]
