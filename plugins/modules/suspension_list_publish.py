#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: suspension_list_publish
short_description: Publish the emergency suspension list as a signed, versioned document
version_added: 0.3.0
description:
  - Reads the central suspension list (a YAML or JSON list in the format M(gridsec.ops.suspension_list_sync) takes
    as a C(yaml) source, validated against its schema) and writes it as a signed, versioned document that any web
    server can host, in two files next to each other.
  - "O(dest): JSON with C(format) (V(gridsec.ops/signed-suspension-list/v1)), a C(serial) that only grows,
    C(issued), C(expires) (O(validity) after C(issued)), C(publisher) (the signer's DN) and the C(list) itself.
    O(signature_dest): a JWS in compact form with a detached payload (RFC 7515 appendix F) over the exact bytes of
    O(dest), signed with the publisher's X.509 credential (RSA, RS256, or EC P-256, ES256), carrying the
    certificate chain (C(x5c)) so that a reader needs only the grid CA directory."
  - A new serial is published when the list changed, when the published document expires within O(renew_before),
    or when the signature is missing or does not verify with the publisher's certificate; otherwise nothing is
    written and the task reports C(changed=false).
  - "The document is written first and the signature second (each by a temporary file and a rename): a reader that
    fetches between the two writes sees a signature over other bytes, refuses the pair and keeps its last good
    list."
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(cryptography) 45 or newer (signing; the readers' certificate path checks need the same)
  - Python library C(PyYAML) for a YAML O(src) (also a dependency of ansible-core); a JSON O(src) needs nothing
extends_documentation_fragment:
  - gridsec.ops._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written; the result says whether a new serial would be published, which one and why.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  src:
    description: The suspension list to publish (YAML or JSON, the schema of a C(yaml) source of M(gridsec.ops.suspension_list_sync)).
    type: path
    required: true
  dest:
    description: Where the signed document is written.
    type: path
    required: true
  signature_dest:
    description: Where the detached signature is written; O(dest) with C(.sig) appended when not set.
    type: path
  cert:
    description:
      - PEM file with the publisher's end-entity certificate (and, after it, any intermediate CA certificates to
        send along). An RFC 3820 proxy is refused.
    type: path
    required: true
  key:
    description: PEM file with the private key of O(cert) (RSA or EC P-256).
    type: path
    required: true
  key_passphrase:
    description: Passphrase of an encrypted O(key).
    type: str
  validity:
    description: How long a published document is valid (C(expires) = C(issued) + O(validity)), for example V(1d), V(12h).
    type: str
    default: 1d
  renew_before:
    description:
      - Publish a new serial of an unchanged list when the published one expires within this time (for example
        V(6h)), so that readers never hold an expired list when the task runs at least that often.
    type: str
    default: 6h
  mode:
    description: File mode of O(dest) and O(signature_dest).
    type: str
    default: "0644"
  canary_salt:
    description:
      - The salt of the central team's daily canary (as for M(gridsec.ops.argus_canary)). With it, the published list
        also holds today's canary DN (the DN M(gridsec.ops.argus_canary) publishes on the central PAP) and, with
        O(canary_issuer), today's canary token identity, so that M(gridsec.ops.suspension_status) can prove at every
        target that the list arrived. They are test identities, no person; a canary already in O(src) is kept once.
      - The canary changes every day, so the list (and its serial) changes at least daily.
    type: str
  canary_issuer:
    description:
      - Issuer of the canary token identity (for example the VO's IAM issuer URL, so that enforcers that map an
        issuer, such as dCache's OP aliases, can hold it). Its subject is C(gridsec-canary-<YYYYMMDD>-<hash8>), the
        date and hash of the canary DN. Needs O(canary_salt).
    type: str
  canary_date:
    description: The date of the canary added (YYYYMMDD, UTC); today by default. Needs O(canary_salt).
    type: str
"""

EXAMPLES = r"""
- name: Publish the central list for the sites to pull
  gridsec.ops.suspension_list_publish:
    src: /etc/gridsec/suspension-list.yml
    dest: /var/www/html/gridsec/suspension-list.json
    cert: /etc/grid-security/publisher/cert.pem
    key: /etc/grid-security/publisher/key.pem
    validity: 1d
    renew_before: 6h
"""

RETURN = r"""
canary:
  description: The canary identities added to the list (C(dn), or C(issuer) and C(subject)); empty without O(canary_salt).
  returned: success
  type: list
  elements: dict
serial:
  description: The serial of the published document (after this task; in check mode, the one it would publish).
  returned: success
  type: int
  sample: 42
previous_serial:
  description: The serial found in O(dest) before the task, or null.
  returned: success
  type: int
reason:
  description: Why a new serial was (or would be) published, or why not.
  returned: success
  type: str
  sample: "the list changed: 1 added, 0 removed"
issued:
  description: When the published document was issued (UTC, ISO 8601).
  returned: success
  type: str
expires:
  description: When the published document expires (UTC, ISO 8601).
  returned: success
  type: str
publisher:
  description: The DN of the signer, in OpenSSL slash form.
  returned: success
  type: str
entries:
  description: How many entries the published list holds.
  returned: success
  type: int
added:
  description: The identities the new serial adds (each as C(kind) and C(value)).
  returned: success
  type: list
  elements: dict
removed:
  description: The identities the new serial removes.
  returned: success
  type: list
  elements: dict
sha256:
  description: SHA-256 of the bytes of O(dest) as published.
  returned: success
  type: str
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

import datetime
import hashlib
import json

from ansible_collections.gridsec.ops.plugins.module_utils import _signed_list as signed
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import sources as sl_sources
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._argus.canary_format import daily_canary
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import StructuredModule


def argument_spec():
    return dict(
        src=dict(type="path", required=True),
        dest=dict(type="path", required=True),
        signature_dest=dict(type="path"),
        cert=dict(type="path", required=True),
        key=dict(type="path", required=True, no_log=False),
        key_passphrase=dict(type="str", no_log=True),
        validity=dict(type="str", default="1d"),
        renew_before=dict(type="str", default="6h"),
        mode=dict(type="str", default="0644"),
        canary_salt=dict(type="str", no_log=True),
        canary_issuer=dict(type="str"),
        canary_date=dict(type="str"),
    )


def main():
    module = StructuredModule(argument_spec=argument_spec(), supports_check_mode=True)
    module.require_library("cryptography >= 45", signed.CRYPTOGRAPHY_IMPORT_ERROR, why="signing the list")
    module.exit_json(**module.run_guarded(run, module))


def _read(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except (IOError, OSError) as err:
        if getattr(err, "errno", None) == 2:
            return None
        raise ConfigError("cannot read %s %s: %s" % (what, path, err), operation="read %s" % what)


def _identities(list_doc):
    return set((e.kind, e.value) for e in sl_sources.list_entries(list_doc, "published"))


def canary_items(p):
    """Today's canary identities as list entries (``_argus.canary``'s naming), or [] without ``canary_salt``."""
    if not p["canary_salt"]:
        if p["canary_issuer"] or p["canary_date"]:
            raise ConfigError("canary_issuer and canary_date need canary_salt", operation="check options")
        return []
    try:
        date, items = daily_canary(p["canary_salt"], p["canary_date"], p["canary_issuer"])
    except ValueError as err:
        raise ConfigError("canary_date: %s" % err, operation="check options")
    for item in items:
        item["reason"] = "daily canary %s (a test identity, no person)" % date
    return items


def with_canary(list_doc, canary):
    """``list_doc`` with the canary entries appended (one already in it, as the same identity, is not added)."""
    if not canary:
        return list_doc
    held = set(e.key for e in sl_sources.list_entries(list_doc, "src"))
    extra = [item for item, entry in zip(canary, sl_sources.list_entries({"entries": canary}, "canary"))
             if entry.key not in held]
    return dict(list_doc, entries=list(list_doc.get("entries") or []) + extra)


def published_state(dest, dest_bytes, sig_bytes, leaf):
    """``(document or None, signature ok)`` of what is published now (the signature checked with our certificate
    only: the chain is the readers' business)."""
    if dest_bytes is None:
        return None, False
    try:
        doc = json.loads(dest_bytes.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        doc = None
    if not isinstance(doc, dict) or doc.get("format") != signed.FORMAT or not isinstance(doc.get("serial"), int):
        raise ConfigError("%s exists and is not a signed suspension list: refusing to overwrite it" % dest,
                          operation="read published list")
    if sig_bytes is None:
        return doc, False
    return doc, signed.signature_matches(dest_bytes, sig_bytes, leaf)


def decide(doc, sig_ok, list_doc, now, renew_before):
    """``(publish?, reason, added, removed)``."""
    wanted = _identities(list_doc)
    if doc is None:
        return True, "first publication", sorted(wanted), []
    try:
        before = _identities(doc.get("list") or {})
    except GridsecError:
        before = set()
    added, removed = sorted(wanted - before), sorted(before - wanted)
    if doc.get("list") != list_doc:
        return True, "the list changed: %d added, %d removed" % (len(added), len(removed)), added, removed
    if not sig_ok:
        return True, "the published signature is missing or does not verify with this certificate", [], []
    try:
        expires = signed.parse_iso(doc.get("expires"), "expires")
    except GridsecError:
        return True, "the published document has no readable expiry", [], []
    if expires - now <= datetime.timedelta(seconds=renew_before):
        return True, "the published serial expires at %s, within renew_before" % signed.iso(expires), [], []
    return False, "the published serial holds this list and expires at %s" % signed.iso(expires), [], []


def run(module):
    p = module.params
    validity = sl_state.parse_duration(p["validity"], "validity")
    renew_before = sl_state.parse_duration(p["renew_before"], "renew_before")
    if renew_before >= validity:
        raise ConfigError("renew_before (%s) must be shorter than validity (%s)" % (p["renew_before"], p["validity"]),
                          operation="check options")
    try:
        mode = int(p["mode"], 8)
    except ValueError:
        raise ConfigError("mode %r is not an octal mode such as 0644" % p["mode"], operation="check options")
    sig_dest = p["signature_dest"] or p["dest"] + ".sig"
    key, chain, publisher = signed.load_signer(p["cert"], p["key"], p["key_passphrase"])
    data = _read(p["src"], "src")
    if data is None:
        raise ConfigError("src %s does not exist" % p["src"], operation="read src")
    canary = canary_items(p)
    list_doc = with_canary(sl_sources.load_list_document(data, "src"), canary)
    sl_sources.list_entries(list_doc, "src")  # every entry valid (DNs parsed), or nothing is published
    list_doc = json.loads(json.dumps(list_doc))  # the form it takes in the document (and in the published one)
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    doc, sig_ok = published_state(p["dest"], _read(p["dest"], "dest"), _read(sig_dest, "signature_dest"), chain[0])
    publish, reason, added, removed = decide(doc, sig_ok, list_doc, now, renew_before)
    previous = doc.get("serial") if doc else None
    result = dict(changed=publish, reason=reason, previous_serial=previous, publisher=publisher, canary=canary,
                  entries=len(list_doc.get("entries") or []),
                  added=[{"kind": k, "value": v} for k, v in added],
                  removed=[{"kind": k, "value": v} for k, v in removed])
    if not publish:
        result.update(serial=previous, issued=doc.get("issued"), expires=doc.get("expires"),
                      sha256=hashlib.sha256(_read(p["dest"], "dest")).hexdigest())
        return result
    serial = (previous or 0) + 1
    expires = now + datetime.timedelta(seconds=validity)
    body = signed.document(list_doc, serial, now, expires, publisher)
    result.update(serial=serial, issued=signed.iso(now), expires=signed.iso(expires),
                  sha256=hashlib.sha256(body).hexdigest())
    if module._diff:
        result["diff"] = {"before": "".join("%s %s\n" % r for r in removed) + ("serial %s\n" % previous),
                          "after": "".join("%s %s\n" % a for a in added) + ("serial %d\n" % serial),
                          "before_header": "%s (removed)" % p["dest"], "after_header": "%s (added)" % p["dest"]}
    if module.check_mode:
        return result
    try:
        write_atomic(p["dest"], body, mode)
        write_atomic(sig_dest, signed.sign(body, key, chain).encode("ascii"), mode)
    except (IOError, OSError) as err:
        raise ConfigError("writing serial %d failed: %s (readers keep the previous serial: the new document and "
                          "its signature are written as a pair)" % (serial, err), operation="write signed list")
    return result


if __name__ == "__main__":
    main()
