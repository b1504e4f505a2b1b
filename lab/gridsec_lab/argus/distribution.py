"""PAP-to-PAP policy distribution (ARGUS.md §9.1): a thread per PAP polls its remote PAPs in order
every ``poll_interval`` seconds with a PAP query (XACMLPolicyQuery + empty md:Extensions) over mutual
TLS with the PAP's host credential, and stores each reply under the remote alias."""
import http.client
import logging
import ssl
import threading
import urllib.parse

from lxml import etree

from .model import AliasStore, PapError, _reprefix
from .services.provisioning import parse_saml_objects
from .xmlutil import SAML, SAML_MD, SOAP_ENV, XACML, XACML_SAMLP, ENTITY_FORMAT, children, local, parse_xml

log = logging.getLogger("gridsec_lab.argus.distribution")

ISSUER_STRING = "ISSUER_STRING"


def pap_query_envelope():
    env = etree.Element("{%s}Envelope" % SOAP_ENV, nsmap={"soap11": SOAP_ENV})
    body = etree.SubElement(env, "{%s}Body" % SOAP_ENV)
    query = etree.SubElement(body, "{%s}XACMLPolicyQuery" % XACML_SAMLP,
                             nsmap={"xacml-samlp": XACML_SAMLP, "saml": SAML, "md": SAML_MD, "xacml": XACML})
    query.set("ID", "_12345")
    query.set("IssueInstant", "2024-01-01T00:00:00.000Z")
    query.set("Version", "2.0")
    issuer = etree.SubElement(query, "{%s}Issuer" % SAML, Format=ENTITY_FORMAT)
    issuer.text = ISSUER_STRING
    etree.SubElement(query, "{%s}Extensions" % SAML_MD)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def client_context(cert, key, ca_dir):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(capath=ca_dir)
    ctx.load_cert_chain(cert, key)
    return ctx


def retrieve_policies(pap, cert, key, ca_dir, timeout=10.0):
    """One PAP query to a remote PAP -> list of PolicySet/Policy elements (raises on any failure)."""
    url = urllib.parse.urlsplit(pap.endpoint() + "/ProvisioningService")
    conn = http.client.HTTPSConnection(url.hostname, url.port or 8150, timeout=timeout,
                                       context=client_context(cert, key, ca_dir))
    try:
        conn.request("POST", url.path, body=pap_query_envelope(),
                     headers={"Content-Type": "text/xml; charset=utf-8",
                              "SOAPAction": "http://www.oasis-open.org/committees/security"})
        resp = conn.getresponse()
        data = resp.read(64 * 1024 * 1024)
    finally:
        conn.close()
    root = parse_xml(data, max_bytes=64 * 1024 * 1024)
    body = [c for c in children(root) if local(c) == "Body"]
    content = children(body[0]) if body else []
    if not content:
        raise PapError("empty SOAP body from %s" % pap.alias)
    if local(content[0]) == "Fault":
        fs = [c for c in children(content[0]) if local(c) == "faultstring"]
        raise PapError("remote PAP '%s' answered a fault: %s" % (pap.alias, fs[0].text if fs else "?"))
    ok, message, objects = parse_saml_objects(content[0])
    if not ok:
        raise PapError("remote PAP '%s' refused the query: %s" % (pap.alias, message))
    return objects


def store_pap_policies(state, alias, objects):
    """storePapPolicies: replace the cache of ``alias``; the first PolicySet is the root and gets the
    local id of the alias. An empty reply keeps the old cache (returns False)."""
    if not objects:
        log.warning("empty reply from remote PAP %s: keeping the cached policies", alias)
        return False
    with state.lock:
        pap = state.paps.get(alias)
        if pap is None or pap.local:
            return False
        store = AliasStore(pap.id)
        store.policysets = {}
        root_done = False
        for obj in objects:
            obj = _reprefix(obj)
            if local(obj) == "PolicySet":
                if not root_done:
                    obj.set("PolicySetId", pap.id)
                    root_done = True
                store.policysets[obj.get("PolicySetId")] = obj
            else:
                store.policies[obj.get("PolicyId")] = obj
        if pap.id not in store.policysets:
            store = AliasStore(pap.id)
        state.stores[alias] = store
        state.changed(alias)
    return True


class Distributor:
    """The pull loop of one PAP."""

    def __init__(self, state, cert, key, ca_dir, timeout=10.0):
        self.state = state
        self.cert, self.key, self.ca_dir = cert, key, ca_dir
        self.timeout = timeout
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread = None
        self.pulls = 0  # completed poll rounds (tests)
        self.last_errors = {}
        state.listeners.append(self.wake)

    def start(self):
        self._thread = threading.Thread(target=self._run, name="pap-distribution", daemon=True)
        self._thread.start()

    def stop(self):
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(timeout=self.timeout + 5)

    def wake(self):
        self._wake.set()

    def refresh(self, alias):
        """RefreshPolicyCacheOperation: False for an unknown alias; a PAPException for a local alias
        ('"<alias>" is local, nothing to refresh') and for a failed pull (the old cache stays)."""
        with self.state.lock:
            pap = self.state.paps.get(alias)
            if pap is None:
                log.error("Unable to refresh cache, PAP not found: %s", alias)
                return False
            if pap.local:
                raise PapError('"%s" is local, nothing to refresh' % alias)
        try:
            objects = retrieve_policies(pap, self.cert, self.key, self.ca_dir, self.timeout)
        except PapError as exc:
            self.last_errors[pap.alias] = str(exc)
            raise PapError(exc.message) from None
        except Exception as exc:  # connection, TLS, parse errors: PAPException(t.getMessage(), t)
            self.last_errors[pap.alias] = str(exc)
            raise PapError("Error contacting remote PAP '%s' (%s): %s" % (pap.alias, pap.endpoint(), exc)) from None
        self.last_errors.pop(pap.alias, None)
        store_pap_policies(self.state, pap.alias, objects)
        return True

    def _run(self):
        while not self._stop.is_set():
            self._wake.clear()
            with self.state.lock:
                remotes = [p.alias for p in self.state.remote_paps()]
            for alias in remotes:
                if self._stop.is_set():
                    return
                try:
                    self.refresh(alias)
                except Exception as exc:  # logged only, like the real PAP
                    log.warning("refreshing remote PAP %s failed: %s", alias, exc)
            self.pulls += 1
            self._wake.wait(max(0.05, float(self.state.poll_interval)))
