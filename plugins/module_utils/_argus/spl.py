# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""SPL, the policy language of ``pap-admin``: the text form of a PAP's XACML tree.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Rendered like ``pap-admin list-policies`` prints it, from the model of ``_argus/xacml.py``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.gridsec.ops.plugins.module_utils._argus.attributes import SPL_BY_XACML_ID


def tree_to_spl(tree, show_ids=False):
    """A ``PapPolicyTree`` as SPL text, like ``pap-admin list-policies`` (with ``id=`` lines when ``show_ids``)."""
    lines = []
    current_set = None
    open_set = False
    for policy_set, policy in tree.iter_policies():
        if policy_set is not current_set:
            if open_set:
                lines.append("}")
                lines.append("")
            current_set = policy_set
            open_set = True
            resource = policy_set.resource if policy_set.resource is not None else ".*"
            lines.append("resource %s {" % spl_quote(resource))
            if show_ids:
                lines.append("    id=%s" % policy_set.policy_set_id)
            if policy_set.description:
                lines.append("    description %s" % spl_quote(policy_set.description))
            _spl_obligations(lines, policy_set.obligations, "    ")
        lines.extend(_spl_policy(policy, show_ids, "    "))
    if open_set:
        lines.append("}")
    return "\n".join(lines) + ("\n" if lines else "")


def spl_quote(value):
    """``value`` as an SPL double-quoted string (backslashes and double quotes escaped)."""
    return '"%s"' % str(value).replace("\\", "\\\\").replace('"', '\\"')


def _spl_obligations(lines, obligations, indent):
    for obligation in obligations:
        lines.append("%sobligation %s {" % (indent, spl_quote(obligation.obligation_id)))
        for attribute_id, _datatype, value in obligation.assignments:
            lines.append("%s    %s = %s" % (indent, SPL_BY_XACML_ID.get(attribute_id, attribute_id), spl_quote(value)))
        lines.append("%s}" % indent)


def _spl_policy(policy, show_ids, indent):
    lines = []
    keyword = "action" if policy.public else "private action"
    lines.append("%s%s %s {" % (indent, keyword, spl_quote(policy.action if policy.action is not None else ".*")))
    inner = indent + "    "
    if show_ids:
        lines.append("%sid=%s" % (inner, policy.policy_id))
    if policy.description:
        lines.append("%sdescription %s" % (inner, spl_quote(policy.description)))
    _spl_obligations(lines, policy.obligations, inner)
    for rule in policy.rules:
        lines.append("%srule %s {" % (inner, rule.effect.lower()))
        if show_ids:
            lines.append("%s    id=%s" % (inner, rule.rule_id))
        for attribute in rule.attributes:
            lines.append("%s    %s = %s" % (inner, attribute.attribute_id_spl, spl_quote(attribute.value)))
        lines.append("%s}" % inner)
    lines.append("%s}" % indent)
    return lines
