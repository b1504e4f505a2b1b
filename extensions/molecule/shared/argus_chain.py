"""Lab side of the argus_server molecule scenarios (independent of the role under test).

    python argus_chain.py create ROOT          test PKI, free ports and ROOT/lab.json for a central -> relay -> site chain
    python argus_chain.py verify ROOT TIERS    start the chain from the configuration on disk and check propagation
    python argus_chain.py stop ROOT            stop the stand-in PAPs started during converge

ROOT/nodes/<tier>/etc/argus/pap is the configuration the role rendered for the tiers under test (TIERS, comma
separated). The other links of the chain are lab PAPs configured here, by hand, so that every scenario checks a
whole chain: a ban on the central PAP must reach the site through the relay, and its removal must follow.
"""
import json
import os
import socket
import subprocess
import sys
import time

from lxml import etree

from gridsec_lab.argus import config as acl_config
from gridsec_lab.argus import rawclient as rc
from gridsec_lab.pki import TestPKI

CHAIN = ("central", "relay", "site")
UPSTREAM = {"relay": ("central", "centralbanning"), "site": ("relay", "ngi")}
X = "{urn:oasis:names:tc:xacml:2.0:policy:schema:os}"
HL = "http://org.glite.authz/wsdl/pap/services/highlevel_policy_management"
BANNED = "/DC=org/DC=gridsec-molecule/OU=Users/CN=suspended user"
BANNED_STORED = "CN=suspended user,OU=Users,DC=gridsec-molecule,DC=org"
DEADLINE = 60  # seconds to wait for a pull (the chain polls every second)


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def create(root):
    root = os.path.abspath(root)
    pki = TestPKI(os.path.join(root, "pki"))
    hosts = {name: pki.host(name) for name in CHAIN}
    admin, nobody = pki.user("molecule admin"), pki.user("molecule nobody")
    ports = {name: _free_port() for name in CHAIN}
    upstreams = {tier: [{"alias": alias, "hostname": "localhost", "port": ports[up], "dn": hosts[up].dn}]
                 for tier, (up, alias) in UPSTREAM.items()}
    downstream = {"central": [hosts["relay"].dn], "relay": [hosts["site"].dn]}
    info = {
        "root": root, "ca_dir": pki.ca_dir, "ports": ports,
        "hosts": {name: {"cert": c.cert, "key": c.key, "dn": c.dn} for name, c in hosts.items()},
        "admin": {"cert": admin.cert, "key": admin.key, "dn": admin.dn},
        "nobody": {"cert": nobody.cert, "key": nobody.key, "dn": nobody.dn},
        "upstreams": upstreams, "downstream": downstream,
    }
    with open(os.path.join(root, "lab.json"), "w", encoding="utf-8") as handle:
        json.dump(info, handle, indent=2)
    print("lab chain prepared in %s (ports %s)" % (root, ports))


def _load(root):
    with open(os.path.join(os.path.abspath(root), "lab.json"), encoding="utf-8") as handle:
        return json.load(handle)


def _rendered_dir(info, tier):
    return os.path.join(info["root"], "nodes", tier, "etc", "argus", "pap")


def _state_dir(info, tier):
    return os.path.join(info["root"], "state", tier)


def _write_fixture(info, tier):
    """pap_configuration.ini / pap_authorization.ini of a link that is not under test."""
    conf = os.path.join(info["root"], "fixtures", tier)
    os.makedirs(conf, exist_ok=True)
    host = info["hosts"][tier]
    lines = ["[paps]", ""]
    order = []
    for up in info["upstreams"].get(tier, []):
        alias = up["alias"]
        order.append(alias)
        lines += ["%s.type = remote" % alias, "%s.enabled = true" % alias,
                  "%s.public = %s" % (alias, "true" if tier == "relay" else "false"), "%s.dn = %s" % (alias, up["dn"]),
                  "%s.hostname = %s" % (alias, up["hostname"]), "%s.port = %s" % (alias, up["port"]), ""]
    lines += ["[paps:properties]", "", "poll_interval = 1"] + ["ordering = %s" % a for a in order + ["default"]]
    lines += ["", "[standalone-service]", "", "hostname = 127.0.0.1", "port = %d" % info["ports"][tier], "",
              "[security]", "", "certificate = %s" % host["cert"], "private_key = %s" % host["key"], ""]
    with open(os.path.join(conf, "pap_configuration.ini"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines))
    acl = ["[dn]", "", '"%s" : ALL' % host["dn"], '"%s" : ALL' % info["admin"]["dn"]]
    acl += ['"%s" : POLICY_READ_LOCAL' % dn for dn in info["downstream"].get(tier, [])]
    with open(os.path.join(conf, "pap_authorization.ini"), "w", encoding="utf-8") as handle:
        handle.write("\n".join(acl + ["", "[fqan]", ""]))
    return conf


def _lab_cli(*args):
    env = dict(os.environ)
    return subprocess.run([sys.executable, "-m", "gridsec_lab", "argus"] + list(args), env=env, check=False,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def stop(root):
    info = _load(root)
    for tier in CHAIN:
        state = _state_dir(info, tier)
        if os.path.exists(os.path.join(state, "argus.pid")):
            out = _lab_cli("stop", "--workdir", state)
            print(out.stdout.strip())


class Client:
    def __init__(self, info, tier, who="admin"):
        self.base = "https://localhost:%d/pap/services/" % info["ports"][tier]
        self.cert, self.key = info[who]["cert"], info[who]["key"]
        self.ca_dir = info["ca_dir"]
        self.tier = tier

    def call(self, service, op, params=(), ns=rc.AXIS_NS):
        status, data = rc.post(self.base + service, rc.envelope(op, params, ns), cert=self.cert, key=self.key,
                               ca_dir=self.ca_dir)
        return rc.parse_reply(status, data)

    def paps(self):
        out = {}
        for pap in rc.ret(self.call("PAPManagementService", "getAllPaps")):
            fields = {etree.QName(c).localname: c.text for c in pap}
            out[fields["alias"]] = fields
        return out

    def order(self):
        return [c.text for c in rc.ret(self.call("PAPManagementService", "getOrder"))]

    def acl(self):
        """{(kind, name): set(permissions)} of the running PAP (getACL, global context)."""
        out = {}
        for item in rc.ret(self.call("AuthorizationManagementService", "getACL", [("context", None)])):
            kind = item.findtext("{%s}principal/{%s}type" % (rc.AXIS_NS, rc.AXIS_NS))
            name = item.findtext("{%s}principal/{%s}name" % (rc.AXIS_NS, rc.AXIS_NS))
            out[("dn" if kind == "x509-dn" else "fqan", name)] = {p.text for p in item.findall("{%s}permissions" % rc.AXIS_NS)}
        return out

    def ban(self, dn):
        self.call("HighLevelPolicyManagementService", "ban",
                  [("alias", "default"), ("id", "subject"), ("value", dn), ("resource", ".*"), ("action", ".*"),
                   ("isPublic", True)], ns=HL)

    def unban(self, dn):
        reply = self.call("HighLevelPolicyManagementService", "unban",
                          [("alias", "default"), ("id", "subject"), ("value", dn), ("resource", ".*"),
                           ("action", ".*")], ns=HL)
        return int(rc.ret(reply).findtext("{%s}statusCode" % HL))

    def pdp_view(self):
        """What this PAP's PDPs get (ProvisioningService, PDP query): the merged tree, PAPs in order."""
        body = ('<soap11:Envelope xmlns:soap11="http://schemas.xmlsoap.org/soap/envelope/"><soap11:Body>'
                '<q:XACMLPolicyQuery xmlns:q="urn:oasis:names:tc:xacml:2.0:profile:saml2.0:v2:schema:protocol" '
                'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_molecule" '
                'IssueInstant="2026-01-01T00:00:00Z" Version="2.0"><saml:Issuer>molecule</saml:Issuer>'
                '</q:XACMLPolicyQuery></soap11:Body></soap11:Envelope>')
        status, data = rc.post(self.base + "ProvisioningService", body.encode(), cert=self.cert, key=self.key,
                               ca_dir=self.ca_dir, headers={"SOAPAction": "http://www.oasis-open.org/committees/security"})
        return rc.parse_reply(status, data)


def _deny_values(tree):
    return [v.text for rule in tree.iter(X + "Rule") if rule.get("Effect") == "Deny"
            for v in rule.iter(X + "AttributeValue")]


def _wait(what, predicate):
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError("not reached within %ss: %s" % (DEADLINE, what))


def _check(condition, message):
    if not condition:
        raise AssertionError(message)
    print("ok: %s" % message)


def verify(root, tiers):
    from gridsec_lab.argus import serve_conf_dir  # the lab entry point (serve --conf-dir)

    info = _load(root)
    tiers = [t for t in tiers.split(",") if t]
    # the stand-ins of converge, before any restart: the ACL they run is the one of the rendered file
    for tier in tiers:
        with open(os.path.join(_rendered_dir(info, tier), "pap_authorization.ini"), encoding="utf-8") as handle:
            rendered = acl_config.ACL.parse(handle.read()).entries
        _check(Client(info, tier).acl() == rendered,
               "%s: the running PAP holds the ACL of the rendered pap_authorization.ini" % tier)
    stop(root)  # the stand-ins of converge: restart from what is on disk, like a service restart
    servers = []
    try:
        for tier in CHAIN:
            conf = _rendered_dir(info, tier) if tier in tiers else _write_fixture(info, tier)
            state = _state_dir(info, tier) if tier in tiers else os.path.join(info["root"], "fixture-state", tier)
            servers.append(serve_conf_dir(conf, state, ca_dir=info["ca_dir"]))
        clients = {tier: Client(info, tier) for tier in CHAIN}
        # configuration the role is responsible for, read back from the running PAPs
        for tier in tiers:
            client = clients[tier]
            paps, order = client.paps(), client.order()
            if tier in UPSTREAM:
                alias = UPSTREAM[tier][1]
                _check(alias in paps and paps[alias].get("local") == "false" and paps[alias].get("enabled") == "true",
                       "%s: upstream %s is a remote, enabled PAP" % (tier, alias))
                _check(paps[alias].get("visibilityPublic") == ("true" if tier == "relay" else "false"),
                       "%s: upstream %s is %s" % (tier, alias, "public (re-exported)" if tier == "relay" else "private"))
                _check(order.index(alias) < order.index("default"), "%s: order %s puts %s before default"
                       % (tier, order, alias))
            try:
                Client(info, tier, who="nobody").ban("/CN=should not be written")
            except rc.Fault as fault:
                text = fault.string.lower()
                _check("authoriz" in text or "privilege" in text,
                       "%s: a client without write permission cannot ban (%s)" % (tier, fault.string.split(":")[-1].strip()))
            else:
                raise AssertionError("%s: a client outside the ACL could ban: the ACL is open" % tier)
        # propagation through the whole chain
        central, site = clients["central"], clients["site"]
        central.ban(BANNED)
        _wait("the central ban in the site's PDP view", lambda: BANNED_STORED in _deny_values(site.pdp_view()))
        merged = [el for el in site.pdp_view().iter(X + "PolicySet") if el.getparent().tag.endswith("Statement")]
        print("ok: central ban of %s reached the site through the relay" % BANNED)
        children = [c.get("PolicySetId", "").split("-")[0] for c in merged[0] if c.tag == X + "PolicySet"]
        _check(children[:1] == ["ngi"] and "default" in children,
               "site: the PDP view evaluates the upstream before default (%s)" % children)
        _check(central.unban(BANNED) == 0, "central: unban removed the rule")
        _wait("the unban at the site", lambda: BANNED_STORED not in _deny_values(site.pdp_view()))
        print("ok: the unban reached the site")
    finally:
        for server in reversed(servers):
            server.stop()


def main(argv):
    if len(argv) >= 2 and argv[0] == "create":
        create(argv[1])
    elif len(argv) >= 2 and argv[0] == "stop":
        stop(argv[1])
    elif len(argv) >= 3 and argv[0] == "verify":
        verify(argv[1], argv[2])
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
