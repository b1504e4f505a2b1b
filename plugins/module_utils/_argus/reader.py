# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Reading an Argus PAP: the policy tree of an alias and the PAP list (``PapReader``).

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``PapReader`` holds the plumbing of every PAP call (``_call``: one rpc call through the transport, logged in
``operations``; errors labelled ``"PAP <host:port>"`` and the operation) and the calls that read a policy tree and
the PAP list. ``_argus.client.PapClient`` extends it with every other operation (the writes, the ACL, the
ProvisioningService query). It is a file of its own because under AnsiballZ every imported module_util is
compiled on every run: a module that only reads (``argus_policy_info``) asks ``PapEndpoint.client`` for a reader
and does not compile the writes (see ``_argus.client`` for what the PAP's replies mean).
"""

from ansible_collections.gridsec.ops.plugins.module_utils._errors import (
    ConfigError,
    GridsecError,
    NotFoundError,
    RemoteError,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.soap import (
    PAP_MANAGEMENT_SERVICE,
    XACML_SERVICE,
    Bean,
    bean_items,
    bool_value,
    build_request,
    return_element,
    rpc_response,
    text_value,
    xacml_elements,
    xacml_objects,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import PapPolicyTree, Policy, PolicySet
from ansible_collections.gridsec.ops.plugins.module_utils._xml import child

PAP_FIELDS = ("alias", "id", "dn", "hostname", "port", "path", "protocol", "visibilityPublic", "local", "enabled")


class Pap(object):
    """A PAP entry as the PAPManagementService sees it (``public`` is the bean's ``visibilityPublic``)."""

    def __init__(self, alias, dn=None, hostname=None, port=None, path=None, protocol=None, public=False,
                 local=False, enabled=False, id=None):  # pylint: disable=redefined-builtin
        self.alias = alias
        self.dn = dn
        self.hostname = hostname
        self.port = port
        self.path = path
        self.protocol = protocol
        self.public = public
        self.local = local
        self.enabled = enabled
        self.id = id

    def __repr__(self):
        return "Pap(%r, %s, %s, %s)" % (self.alias, "local" if self.local else "remote",
                                        "enabled" if self.enabled else "disabled",
                                        "public" if self.public else "private")

    def __eq__(self, other):
        return isinstance(other, Pap) and self.to_dict() == other.to_dict()

    def __ne__(self, other):
        return not self == other

    def to_dict(self):
        return dict(alias=self.alias, id=self.id, dn=self.dn, hostname=self.hostname, port=self.port,
                    path=self.path, protocol=self.protocol, public=self.public, local=self.local,
                    enabled=self.enabled)

    def to_bean(self):
        port = None if self.port in (None, "") else str(self.port)
        return Bean([("alias", self.alias), ("id", self.id), ("dn", self.dn), ("hostname", self.hostname),
                     ("port", port), ("path", self.path), ("protocol", self.protocol),
                     ("visibilityPublic", bool(self.public)), ("local", bool(self.local)),
                     ("enabled", bool(self.enabled))])

    @classmethod
    def from_element(cls, element):
        def field(name):
            return text_value(child(element, name))

        port = field("port")
        if port is not None and port.strip().isdigit():
            port = int(port.strip())
        return cls(alias=field("alias"), id=field("id"), dn=field("dn"), hostname=field("hostname"), port=port,
                   path=field("path"), protocol=field("protocol"),
                   public=bool(bool_value(child(element, "visibilityPublic"), False)),
                   local=bool(bool_value(child(element, "local"), False)),
                   enabled=bool(bool_value(child(element, "enabled"), False)))


class PapReader(object):
    """The reads of one Argus PAP (``transport.base_url`` = ``https://host:port/pap/services``): the policy tree of
    an alias and the PAP list; ``_argus.client.PapClient`` adds every other operation."""

    def __init__(self, transport, server_label=None):
        self.transport = transport
        self.server_label = server_label or getattr(transport, "server_label", None) or "PAP"
        self.operations = []

    @property
    def label(self):
        """How errors name this PAP: ``"PAP host:port"``."""
        return "PAP %s" % self.server_label

    # -- plumbing --------------------------------------------------------------------------------------------

    def _post(self, service, operation, data, headers):
        try:
            return self.transport.request("POST", service, operation=operation, data=data, headers=headers)
        except ConfigError as err:
            # The request never left (missing credential file, bad option...): no operation ran, so none is
            # named, and it is not listed among the operations sent.
            err.server = self.label
            err.operation = None
            if self.operations and self.operations[-1].get("operation") == operation:
                self.operations.pop()
            raise
        except GridsecError as err:
            err.server = self.label
            err.operation = err.operation or operation
            raise

    def _call(self, service, operation, args, log_args=None):
        """Send one rpc call; returns the ``<op>Response`` element."""
        self.operations.append({"service": service, "operation": operation, "args": dict(log_args or {})})
        data, headers = build_request(service, operation, args)
        reply = self._post(service, operation, data, headers)
        return rpc_response(reply.body, reply.status, operation, server=self.label,
                            max_bytes=getattr(self.transport, "max_response_bytes", len(reply.body) + 1))

    def _error(self, message, operation, cls=RemoteError):
        return cls(message, server=self.label, operation=operation)

    def _string(self, response, operation):
        return text_value(return_element(response, operation))

    def _boolean(self, response, operation):
        try:
            return bool_value(return_element(response, operation))
        except ValueError as exc:
            raise self._error("unexpected %s reply: %s" % (operation, exc), operation) from exc

    # -- XACMLPolicyManagementService -------------------------------------------------------------------------

    def list_policies(self, alias):
        # every rule of the alias: read element by element (xacml_objects), never held whole as a tree
        operation = "listPolicies"
        self.operations.append({"service": XACML_SERVICE, "operation": operation, "args": {"alias": alias}})
        data, headers = build_request(XACML_SERVICE, operation, [alias])
        reply = self._post(XACML_SERVICE, operation, data, headers)
        return xacml_objects(reply.body, reply.status, operation, ("Policy",), Policy.from_element, server=self.label,
                             max_bytes=getattr(self.transport, "max_response_bytes", len(reply.body) + 1))

    def list_policy_sets(self, alias):
        response = self._call(XACML_SERVICE, "listPolicySets", [alias], {"alias": alias})
        return [PolicySet.from_element(e) for e in xacml_elements(response, ("PolicySet",))]

    def get_root_policy_set(self, alias):
        response = self._call(XACML_SERVICE, "getRootPolicySet", [alias], {"alias": alias})
        found = xacml_elements(response, ("PolicySet",))
        if not found:
            raise self._error("no root PolicySet for alias %r" % alias, "getRootPolicySet", NotFoundError)
        return PolicySet.from_element(found[0])

    def get_tree(self, alias, policy_sets=None):
        """The whole policy tree of ``alias``, usually in two calls: listPolicySets, listPolicies (one when the
        caller already read ``policy_sets``).

        ``listPolicySets`` returns the root PolicySet with the resource ones (argus-pap
        ``XACMLPolicyManagementService.listPolicySets``), and in a PAP alias the root is the one PolicySet that no
        other references. Only when that does not single it out (a PolicySet
        stored without a reference, left by another tool or a crash between two writes) is ``getRootPolicySet``
        asked as well.
        """
        if policy_sets is None:
            policy_sets = self.list_policy_sets(alias)
        referenced = set(ref for ps in policy_sets for kind, ref in ps.references if kind != "policy")
        roots = [ps for ps in policy_sets if ps.policy_set_id not in referenced]
        root = roots[0] if len(roots) == 1 else self.get_root_policy_set(alias)
        policies = self.list_policies(alias)
        return PapPolicyTree.from_lists(alias, root, policy_sets, policies)

    # -- PAPManagementService ---------------------------------------------------------------------------------

    def get_all_paps(self):
        response = self._call(PAP_MANAGEMENT_SERVICE, "getAllPaps", [])
        return [Pap.from_element(item) for item in bean_items(response, "getAllPaps", PAP_FIELDS)]
