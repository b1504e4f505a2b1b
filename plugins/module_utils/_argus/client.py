# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Client of an Argus PAP: one method per SOAP operation the collection needs.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``PapClient`` extends ``_argus.reader.PapReader`` (the plumbing of every call, the policy tree and the PAP list,
in a file of its own so that a module that only reads does not compile the rest under AnsiballZ). It sends
through an ``HttpTransport`` (``_http.py``) whose base URL is the PAP's services root
(``https://host:8150/pap/services``), builds envelopes with ``_argus.soap`` (the ProvisioningService query with
``_argus.provisioning``) and returns ``_argus.xacml`` objects or plain Python values. Every operation issued
is appended to ``client.operations`` (service, operation and the arguments, with XACML objects reduced to their
ids) so modules can report exactly what they sent.
Errors are ``_errors`` exceptions labelled ``"PAP <host:port>"`` and the operation name.

The real argus-pap reports several failed writes without a fault (``*Operation.doExecute`` catches its own
``NotFoundException``/``AlreadyExistsException`` and returns ``false`` or ``null``). A write method here never
returns such a reply: it raises ``WriteRefusedError`` naming the operation and the likely cause, so a refused
write can never be mistaken for a successful one. ``ban`` returning ``null`` keeps its documented meaning (the
deny rule already exists) and is returned as ``None``.
"""

import collections

from ansible_collections.gridsec.ops.plugins.module_utils._errors import NotFoundError, WriteRefusedError
from ansible_collections.gridsec.ops.plugins.module_utils._argus.soap import (
    AUTHZ_SERVICE,
    HIGHLEVEL_SERVICE,
    PAP_MANAGEMENT_SERVICE,
    PROVISIONING_SERVICE,
    XACML_SERVICE,
    Array,
    Bean,
    array_items,
    bean_items,
    return_element,
    text_value,
    xacml_elements,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.provisioning import (
    build_policy_query,
    provisioning_statement_elements,
)
from ansible_collections.gridsec.ops.plugins.module_utils._argus.reader import Pap, PapReader
from ansible_collections.gridsec.ops.plugins.module_utils._argus.xacml import (
    Attribute,
    PapPolicyTree,
    Policy,
    PolicySet,
)
from ansible_collections.gridsec.ops.plugins.module_utils._xml import child, children, local_name

# Principal types the PAP accepts in an ACE, and the spellings callers may use for them.
ACE_X509_DN = "x509-dn"
ACE_VOMS_FQAN = "voms-fqan"
ANYONE = "ANYONE"
_ACE_TYPE_ALIASES = {"x509-dn": ACE_X509_DN, "x509": ACE_X509_DN, "dn": ACE_X509_DN, "anyone": ACE_X509_DN,
                     "voms-fqan": ACE_VOMS_FQAN, "fqan": ACE_VOMS_FQAN}

_NO_POLICY_SET = "PolicySet %s does not exist in alias %r (removed concurrently?)"
_STALE = ("%s %s of alias %r is gone or was changed concurrently (version conflict); re-read it and retry")


class AcePrincipal(collections.namedtuple("AcePrincipal", ["type", "name"])):
    """An ACE principal: ``type`` ``"x509-dn"`` (slash-form DN, or ``ANYONE``) or ``"voms-fqan"``."""

    __slots__ = ()

    def normalized(self):
        kind = _ACE_TYPE_ALIASES.get(str(self.type).lower())
        if kind is None:
            raise ValueError("ACE principal type must be x509-dn or voms-fqan, not %r" % (self.type,))
        name = ANYONE if str(self.type).lower() == "anyone" else self.name
        return AcePrincipal(kind, name)

    @property
    def key(self):
        """Short text form, e.g. ``"x509-dn:/DC=ch/CN=x"``."""
        return "%s:%s" % (self.type, self.name)


def _object_id(value):
    """What the operations log records for a XACML argument."""
    for attr in ("policy_id", "policy_set_id"):
        if hasattr(value, attr):
            return {"type": type(value).__name__, "id": getattr(value, attr)}
    return value


def _as_element(value, kind):
    if isinstance(value, (Policy, PolicySet)):
        return value.to_element()
    if hasattr(value, "tag"):
        return value
    raise TypeError("%s must be a %s object or an lxml element, not %r" % (kind, kind, type(value).__name__))


def _rule_attribute_text(attribute):
    """``addRule`` takes ``"id=value"`` strings."""
    if isinstance(attribute, Attribute):
        return "%s=%s" % (attribute.attribute_id_spl, attribute.value)
    if isinstance(attribute, (tuple, list)) and len(attribute) == 2:
        return "%s=%s" % (attribute[0], attribute[1])
    if isinstance(attribute, dict):
        return "%s=%s" % (attribute["id"], attribute["value"])
    text = str(attribute)
    if "=" not in text:
        raise ValueError("rule attribute %r is not of the form id=value" % text)
    return text


class PapClient(PapReader):
    """The operations of one Argus PAP (``transport.base_url`` = ``https://host:port/pap/services``): the reads of
    ``PapReader`` (policy tree, PAP list) and every other operation the collection needs."""

    # -- replies of writes -------------------------------------------------------------------------------------

    def _refused(self, operation, reply, cause):
        return WriteRefusedError("the PAP answered %s to %s: nothing was written (%s)" % (reply, operation, cause),
                                 server=self.label, operation=operation, details={"reply": reply})

    def _write_ok(self, response, operation, cause):
        """A write's boolean reply: True, or ``WriteRefusedError`` for ``false``/nil (the real PAP's refusal)."""
        value = self._boolean(response, operation)
        if value is None:
            raise self._refused(operation, "null", cause)
        if not value:
            raise self._refused(operation, "false", cause)
        return True

    def _write_id(self, response, operation, cause):
        """A write's id reply: the id, or ``WriteRefusedError`` for nil/empty (the real PAP's refusal)."""
        value = self._string(response, operation)
        if value is None or not value.strip():
            raise self._refused(operation, "null", cause)
        return value.strip()

    # -- XACMLPolicyManagementService -------------------------------------------------------------------------

    def get_policy(self, alias, policy_id):
        response = self._call(XACML_SERVICE, "getPolicy", [alias, policy_id], {"alias": alias, "id": policy_id})
        found = xacml_elements(response, ("Policy",))
        if not found:
            raise self._error("policy %s not found in alias %r" % (policy_id, alias), "getPolicy", NotFoundError)
        return Policy.from_element(found[0])

    def get_policy_set(self, alias, policy_set_id):
        response = self._call(XACML_SERVICE, "getPolicySet", [alias, policy_set_id],
                              {"alias": alias, "id": policy_set_id})
        found = xacml_elements(response, ("PolicySet",))
        if not found:
            raise self._error("policy set %s not found in alias %r" % (policy_set_id, alias), "getPolicySet",
                              NotFoundError)
        return PolicySet.from_element(found[0])

    def has_policy(self, alias, policy_id):
        response = self._call(XACML_SERVICE, "hasPolicy", [alias, policy_id], {"alias": alias, "id": policy_id})
        return bool(self._boolean(response, "hasPolicy"))

    def has_policy_set(self, alias, policy_set_id):
        response = self._call(XACML_SERVICE, "hasPolicySet", [alias, policy_set_id],
                              {"alias": alias, "id": policy_set_id})
        return bool(self._boolean(response, "hasPolicySet"))

    def add_policy(self, alias, index, policy_set_id, policy_id_prefix, policy):
        response = self._call(XACML_SERVICE, "addPolicy",
                              [alias, int(index), policy_set_id, policy_id_prefix, _as_element(policy, "Policy")],
                              {"alias": alias, "index": int(index), "policy_set_id": policy_set_id,
                               "policy_id_prefix": policy_id_prefix, "policy": _object_id(policy)})
        return self._write_id(response, "addPolicy", _NO_POLICY_SET % (policy_set_id, alias))

    def add_policies(self, alias, index, policy_set_id, policy_id_prefixes, policies):
        policies = list(policies)
        prefixes = list(policy_id_prefixes)
        if len(prefixes) != len(policies):
            raise ValueError("add_policies needs one id prefix per policy (%d prefixes, %d policies)"
                             % (len(prefixes), len(policies)))
        response = self._call(XACML_SERVICE, "addPolicies",
                              [alias, int(index), policy_set_id, Array("stringElement", prefixes),
                               Array("policy", [_as_element(p, "Policy") for p in policies])],
                              {"alias": alias, "index": int(index), "policy_set_id": policy_set_id,
                               "policy_id_prefixes": prefixes, "policies": [_object_id(p) for p in policies]})
        if not policies:
            return []
        if return_element(response, "addPolicies") is None:
            raise self._refused("addPolicies", "null", _NO_POLICY_SET % (policy_set_id, alias))
        ids = [(text_value(item) or "").strip() for item in array_items(response, "addPolicies")]
        if len(ids) != len(policies) or not all(ids):
            raise self._error("addPolicies reply has %d ids for %d policies (%r): the PAP may have added some of "
                              "them; read the policies of alias %r back" % (len(ids), len(policies), ids, alias),
                              "addPolicies")
        return ids

    def add_policy_set(self, alias, index, policy_set):
        response = self._call(XACML_SERVICE, "addPolicySet",
                              [alias, int(index), _as_element(policy_set, "PolicySet")],
                              {"alias": alias, "index": int(index), "policy_set": _object_id(policy_set)})
        return self._write_id(response, "addPolicySet", "unexpected: the PAP returned no id for the new PolicySet")

    def store_policy(self, alias, id_prefix, policy):
        response = self._call(XACML_SERVICE, "storePolicy", [alias, id_prefix, _as_element(policy, "Policy")],
                              {"alias": alias, "id_prefix": id_prefix, "policy": _object_id(policy)})
        return self._write_id(response, "storePolicy", "unexpected: the PAP returned no id for the stored Policy")

    def store_policy_set(self, alias, id_prefix, policy_set):
        response = self._call(XACML_SERVICE, "storePolicySet",
                              [alias, id_prefix, _as_element(policy_set, "PolicySet")],
                              {"alias": alias, "id_prefix": id_prefix, "policy_set": _object_id(policy_set)})
        return self._write_id(response, "storePolicySet",
                              "unexpected: the PAP returned no id for the stored PolicySet")

    def update_policy(self, alias, version, policy):
        """Optimistic update: ``version`` is the version the caller read.

        True, or ``WriteRefusedError``: ``false`` (the policy id is gone) or an ``InvalidVersionException`` fault
        (``version`` is no longer current); re-read and retry.
        """
        response = self._call(XACML_SERVICE, "updatePolicy", [alias, str(version), _as_element(policy, "Policy")],
                              {"alias": alias, "version": str(version), "policy": _object_id(policy)})
        return self._write_ok(response, "updatePolicy", _STALE % ("policy", getattr(policy, "policy_id", "?"), alias))

    def update_policy_set(self, alias, version, policy_set):
        response = self._call(XACML_SERVICE, "updatePolicySet",
                              [alias, str(version), _as_element(policy_set, "PolicySet")],
                              {"alias": alias, "version": str(version), "policy_set": _object_id(policy_set)})
        return self._write_ok(response, "updatePolicySet",
                              _STALE % ("policy set", getattr(policy_set, "policy_set_id", "?"), alias))

    def remove_policy(self, alias, policy_id):
        response = self._call(XACML_SERVICE, "removePolicy", [alias, policy_id], {"alias": alias, "id": policy_id})
        return self._write_ok(response, "removePolicy",
                              "policy %s not found in alias %r (already removed?)" % (policy_id, alias))

    def remove_policy_set(self, alias, policy_set_id):
        response = self._call(XACML_SERVICE, "removePolicySet", [alias, policy_set_id],
                              {"alias": alias, "id": policy_set_id})
        return self._write_ok(response, "removePolicySet",
                              "policy set %s not found in alias %r (already removed?)" % (policy_set_id, alias))

    def remove_object_by_id_and_references(self, alias, object_id):
        response = self._call(XACML_SERVICE, "removeObjectByIdAndReferences", [alias, object_id],
                              {"alias": alias, "id": object_id})
        return self._write_ok(response, "removeObjectByIdAndReferences",
                              "id %s not removed from alias %r" % (object_id, alias))

    def move(self, alias, object_id, pivot_id, move_after=False):
        self._call(XACML_SERVICE, "move", [alias, object_id, pivot_id, bool(move_after)],
                   {"alias": alias, "id": object_id, "pivot_id": pivot_id, "move_after": bool(move_after)})

    # -- HighLevelPolicyManagementService ---------------------------------------------------------------------

    def ban(self, alias, attribute_id, value, resource=".*", action=".*", public=True):
        """Deny rule for ``attribute_id = value``; returns the policy id, or None when the PAP says it exists."""
        response = self._call(HIGHLEVEL_SERVICE, "ban", [alias, attribute_id, value, resource, action, bool(public)],
                              {"alias": alias, "id": attribute_id, "value": value, "resource": resource,
                               "action": action, "public": bool(public)})
        return self._string(response, "ban") or None

    def unban(self, alias, attribute_id, value, resource=".*", action=".*"):
        """Remove one matching deny rule; returns the PAP's statusCode (0 removed, 1 nothing found)."""
        response = self._call(HIGHLEVEL_SERVICE, "unban", [alias, attribute_id, value, resource, action],
                              {"alias": alias, "id": attribute_id, "value": value, "resource": resource,
                               "action": action})
        result = return_element(response, "unban")
        code = text_value(child(result, "statusCode")) if result is not None else None
        if code is None or not code.strip().lstrip("-").isdigit():
            raise self._error("unban reply without a valid statusCode (%r)" % code, "unban")
        return int(code.strip())

    def add_rule(self, alias, permit, attributes, action_value, resource_value, action_id=None, rule_id=None,
                 obligation_value=None, obligation_scope=None, move_after=False):
        items = [_rule_attribute_text(a) for a in attributes]
        response = self._call(
            HIGHLEVEL_SERVICE, "addRule",
            [alias, bool(permit), Array("policyId", items), action_value, resource_value, action_id, rule_id,
             obligation_value, obligation_scope, bool(move_after)],
            {"alias": alias, "permit": bool(permit), "attributes": items, "action_value": action_value,
             "resource_value": resource_value, "action_id": action_id, "rule_id": rule_id,
             "obligation_value": obligation_value, "obligation_scope": obligation_scope,
             "move_after": bool(move_after)})
        return self._write_id(response, "addRule", "unexpected: the PAP returned no rule id")

    # -- PAPManagementService ---------------------------------------------------------------------------------

    def ping(self):
        return self._string(self._call(PAP_MANAGEMENT_SERVICE, "ping", []), "ping") or ""

    def get_pap(self, alias):
        response = self._call(PAP_MANAGEMENT_SERVICE, "getPap", [alias], {"alias": alias})
        element = return_element(response, "getPap")
        if element is None:
            raise self._error("PAP alias %r not found" % alias, "getPap", NotFoundError)
        return Pap.from_element(element)

    def exists(self, alias):
        return bool(self._boolean(self._call(PAP_MANAGEMENT_SERVICE, "exists", [alias], {"alias": alias}), "exists"))

    def add_pap(self, pap):
        response = self._call(PAP_MANAGEMENT_SERVICE, "addPap", [pap.to_bean()], {"pap": pap.to_dict()})
        return self._write_ok(response, "addPap", "PAP alias %r already exists" % (pap.alias,))

    def update_pap(self, pap):
        response = self._call(PAP_MANAGEMENT_SERVICE, "updatePap", [pap.to_bean()], {"pap": pap.to_dict()})
        return self._write_ok(response, "updatePap", "PAP alias %r does not exist" % (pap.alias,))

    def remove_pap(self, alias):
        response = self._call(PAP_MANAGEMENT_SERVICE, "removePap", [alias], {"alias": alias})
        return self._write_ok(response, "removePap", "PAP alias %r does not exist" % (alias,))

    def set_enabled(self, alias, enabled):
        self._call(PAP_MANAGEMENT_SERVICE, "setEnabled", [alias, bool(enabled)],
                   {"alias": alias, "enabled": bool(enabled)})

    def get_order(self):
        response = self._call(PAP_MANAGEMENT_SERVICE, "getOrder", [])
        return [text_value(item) for item in array_items(response, "getOrder") if text_value(item)]

    def set_order(self, aliases):
        aliases = list(aliases)
        response = self._call(PAP_MANAGEMENT_SERVICE, "setOrder", [Array("stringItem", aliases)],
                              {"aliases": aliases})
        # The real setOrder always answers true (or faults); an explicit false is a refusal, no reply is fine.
        if self._boolean(response, "setOrder") is False:
            raise self._refused("setOrder", "false", "order %s not applied" % ", ".join(aliases))

    def get_polling_interval(self):
        text = self._string(self._call(PAP_MANAGEMENT_SERVICE, "getPollingInterval", []), "getPollingInterval")
        try:
            return float(text)
        except (TypeError, ValueError) as exc:
            raise self._error("getPollingInterval reply is not a number: %r" % (text,), "getPollingInterval") from exc

    def set_polling_interval(self, seconds):
        self._call(PAP_MANAGEMENT_SERVICE, "setPollingInterval", [float(seconds)], {"seconds": float(seconds)})

    def refresh_cache(self, alias):
        response = self._call(PAP_MANAGEMENT_SERVICE, "refreshCache", [alias], {"alias": alias})
        return self._write_ok(response, "refreshCache", "PAP alias %r does not exist" % (alias,))

    # -- AuthorizationManagementService (global context) ------------------------------------------------------

    def get_acl(self):
        """``{AcePrincipal: [permission, ...]}`` of the global context."""
        response = self._call(AUTHZ_SERVICE, "getACL", [None], {"context": None})
        acl = {}
        for ace in bean_items(response, "getACL", ("principal", "permissions")):
            principal_el = child(ace, "principal")
            if principal_el is None:
                continue
            principal = AcePrincipal(text_value(child(principal_el, "type")) or "",
                                     text_value(child(principal_el, "name")) or "")
            permissions = []
            for perm_el in children(ace, "permissions"):
                values = [text_value(i) for i in children(perm_el)] or [text_value(perm_el)]
                for value in values:
                    for part in (value or "").split("|"):
                        if part.strip():
                            permissions.append(part.strip())
            acl.setdefault(principal, []).extend(permissions)
        return acl

    def add_ace(self, principal, permissions):
        principal = AcePrincipal(*principal).normalized()
        permissions = list(permissions)
        self._call(AUTHZ_SERVICE, "addACE",
                   [None, Bean([("type", principal.type), ("name", principal.name)]), Array("item", permissions)],
                   {"context": None, "principal": principal.key, "permissions": permissions})

    def remove_ace(self, principal):
        principal = AcePrincipal(*principal).normalized()
        self._call(AUTHZ_SERVICE, "removeACE", [None, Bean([("type", principal.type), ("name", principal.name)])],
                   {"context": None, "principal": principal.key})

    # -- ProvisioningService ----------------------------------------------------------------------------------

    def policy_query(self, pdp=False, issuer="gridsec.ops"):
        """What a pulling PAP (``pdp=False``) or a PDP (``pdp=True``) would receive, as one ``PapPolicyTree``.

        The root is the first top-level PolicySet of the reply; inline PolicySets/Policies become references.
        """
        operation = "XACMLPolicyQuery"
        self.operations.append({"service": PROVISIONING_SERVICE, "operation": operation,
                                "args": {"pdp": bool(pdp), "issuer": issuer}})
        data, headers = build_policy_query(pdp=pdp, issuer=issuer)
        reply = self._post(PROVISIONING_SERVICE, operation, data, headers)
        elements = provisioning_statement_elements(
            reply.body, reply.status, server=self.label,
            max_bytes=getattr(self.transport, "max_response_bytes", len(reply.body) + 1))
        tree = PapPolicyTree("pdp" if pdp else "pap", None)
        for element in elements:
            if local_name(element) == "PolicySet":
                policy_set = PolicySet.from_element(element, inline_sink=tree)
                tree.policy_sets[policy_set.policy_set_id] = policy_set
                if tree.root is None:
                    tree.root = policy_set
            else:
                policy = Policy.from_element(element)
                tree.policies[policy.policy_id] = policy
        return tree
