"""A tiny raw SOAP client for tests and the demo (independent of the collection's client):
``call(url, operation, params, cred=..., ca_dir=...)`` posts an rpc envelope and returns the parsed reply."""
import ssl
import http.client
import urllib.parse

from lxml import etree

from .xmlutil import AXIS_NS, SOAP_ENV, XACML, children, local

NS = {"soapenv": SOAP_ENV, "pap": AXIS_NS, "xacml": XACML}


class Fault(Exception):
    def __init__(self, code, string, status):
        super().__init__("%s: %s" % (code, string))
        self.code, self.string, self.status = code, string, status


def envelope(operation, params=(), ns=AXIS_NS, env_prefix="soapenv"):
    """params: sequence of (name, value); value str/bool/int/None/list[str]/lxml element."""
    env = etree.Element("{%s}Envelope" % SOAP_ENV, nsmap={env_prefix: SOAP_ENV})
    body = etree.SubElement(env, "{%s}Body" % SOAP_ENV)
    op = etree.SubElement(body, "{%s}%s" % (ns, operation) if ns else operation, nsmap={"ns1": ns} if ns else None)
    for name, value in params:
        el = etree.SubElement(op, name)
        _fill(el, value)
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


def _fill(el, value):
    if value is None:
        el.set("{http://www.w3.org/2001/XMLSchema-instance}nil", "true")
    elif isinstance(value, bool):
        el.text = "true" if value else "false"
    elif isinstance(value, (int, float, str)):
        el.text = str(value)
    elif isinstance(value, dict):
        for k, v in value.items():
            _fill(etree.SubElement(el, k), v)
    elif isinstance(value, (list, tuple)):
        for item in value:
            if isinstance(item, etree._Element):
                el.append(item)
            else:
                _fill(etree.SubElement(el, "item"), item)
    elif isinstance(value, etree._Element):
        el.append(value)
    else:
        raise TypeError(value)


def post(url, body, cred=None, ca_dir=None, headers=None, cert=None, key=None, timeout=30):
    """POST bytes over mutual TLS -> (status, body bytes)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    if ca_dir:
        ctx.load_verify_locations(capath=ca_dir)
    if cred is not None:
        if getattr(cred, "proxy", None) and cert == "proxy":
            ctx.load_cert_chain(cred.proxy)
        else:
            ctx.load_cert_chain(cred.cert, cred.key)
    elif cert:
        ctx.load_cert_chain(cert, key)
    parts = urllib.parse.urlsplit(url)
    conn = http.client.HTTPSConnection(parts.hostname, parts.port, context=ctx, timeout=timeout)
    try:
        hdrs = {"Content-Type": "text/xml; charset=utf-8", "SOAPAction": '""'}
        hdrs.update(headers or {})
        conn.request("POST", parts.path + ("?" + parts.query if parts.query else ""), body=body, headers=hdrs)
        resp = conn.getresponse()
        return resp.status, resp.read()
    finally:
        conn.close()


def parse_reply(status, data):
    root = etree.fromstring(data)
    body = [c for c in children(root) if local(c) == "Body"][0]
    first = children(body)[0]
    if local(first) == "Fault":
        code = first.findtext("faultcode")
        string = first.findtext("faultstring")
        raise Fault(code, string, status)
    return first


def call(url, operation, params=(), cred=None, ca_dir=None, ns=AXIS_NS, proxy=False):
    """-> the <op>Response element (raises Fault)."""
    status, data = post(url, envelope(operation, params, ns), cred=cred, ca_dir=ca_dir,
                        cert="proxy" if proxy else None)
    return parse_reply(status, data)


def ret(response):
    """The <op>Return element of a response (or None for void)."""
    items = children(response)
    return items[0] if items else None
