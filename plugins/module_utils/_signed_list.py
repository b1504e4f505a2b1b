# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""A signed, versioned suspension list: the document, its detached signature, and the verifier.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

The **document** is JSON (UTF-8), written once and never re-serialised: the signature covers its exact bytes::

    {"format": "gridsec.ops/signed-suspension-list/v1", "serial": 12, "issued": "2026-12-07T10:00:00Z",
     "expires": "2026-12-08T10:00:00Z", "publisher": "/DC=org/.../CN=Grid Security Officer",
     "list": {"version": 1, "entries": [{"dn": "...", "reason": "..."}, {"fqan": "/atlas/bad"}]}}

``list`` is a suspension list as the YAML/JSON source takes it (``meta/suspension-list.schema.json``).

The **signature** is a JWS in compact serialisation with a detached payload (RFC 7515 appendix F:
``<header>..<signature>``): the header names the algorithm (``RS256``, ``PS256`` or ``ES256``; ``none`` and the
HMAC algorithms are refused) and carries the publisher's certificate chain in ``x5c`` (RFC 7515 4.1.6), so any
web server can host the two files and a reader needs only the grid CA directory. The signer must be an end-entity
certificate (an RFC 3820 proxy is refused) that chains to a CA of that directory, valid at verification time.

The reader refuses, with a message saying which: a signature that is not a detached JWS (truncated, empty, other
separators), an algorithm not on the list, a chain that does not lead to a trusted CA or a certificate outside its
validity, a signature over other bytes, a signer not in ``trusted_signers`` (DNs compared semantically), a document
of another format, an expired list, and (``last_serial``) a serial lower than the last one applied (rollback) or
the same serial with other bytes.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import binascii
import datetime
import glob
import hashlib
import json
import os
import traceback

from ansible_collections.gridsec.ops.plugins.module_utils._dn import DNError, parse_dn
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import certificate_dn

CRYPTOGRAPHY_IMPORT_ERROR = None
try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
    from cryptography.x509.verification import ExtensionPolicy, PolicyBuilder, Store, VerificationError
except ImportError:  # cryptography missing, or older than 45 (no client-certificate path verification)
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

FORMAT = "gridsec.ops/signed-suspension-list/v1"
JWS_TYPE = "gridsec-suspension-list+json"
ALGORITHMS = ("RS256", "PS256", "ES256")
PROXY_CERT_INFO_OID = "1.3.6.1.5.5.7.1.14"
MAX_SIGNATURE_BYTES = 256 * 1024  # a chain of a few certificates; bounds what a hostile server can make us parse


class SignatureError(GridsecError):
    """The list or its signature cannot be trusted: nothing of it may be applied."""

    kind = "signature"


# -- helpers ----------------------------------------------------------------------------------------------------
def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64url(text, what):
    if not isinstance(text, str) or not text or any(c in text for c in "=+/ \n"):
        raise SignatureError("the signature's %s is not base64url" % what, operation="verify signature")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise SignatureError("the signature's %s is not base64url" % what, operation="verify signature")


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_iso(text, what):
    try:
        moment = datetime.datetime.strptime(str(text), "%Y-%m-%dT%H:%M:%SZ")
    except ValueError:
        raise SignatureError("%s %r is not a UTC time such as 2026-12-07T10:00:00Z" % (what, text),
                             operation="read signed list")
    return moment.replace(tzinfo=datetime.timezone.utc)


def load_ca_directory(ca_path):
    """The CA certificates of a grid CA directory (``<hash>.0`` .. ``.9`` and ``*.pem``) or of one PEM file."""
    if not ca_path:
        raise ConfigError("verifying a signed list needs ca_path (the grid CA directory, e.g. "
                          "/etc/grid-security/certificates)", operation="check options")
    if os.path.isdir(ca_path):
        files = sorted(set(glob.glob(os.path.join(ca_path, "*.[0-9]")) + glob.glob(os.path.join(ca_path, "*.pem"))))
    else:
        files = [ca_path]
    cas = []
    for path in files:
        try:
            with open(path, "rb") as handle:
                cas.extend(x509.load_pem_x509_certificates(handle.read()))
        except (IOError, OSError, ValueError):
            continue  # a stray file in a CA directory is not ours to judge; an empty store is refused below
    if not cas:
        raise ConfigError("no CA certificate found in %s" % ca_path, operation="load CA certificates")
    return cas


def dn_matches(dn, wanted):
    """True when ``dn`` (slash form) is one of the ``wanted`` DNs (slash or comma form), compared semantically."""
    try:
        key = parse_dn(dn, strict=False).canonical()
    except DNError:
        return False
    for item in wanted:
        try:
            if parse_dn(item, strict=False).canonical() == key:
                return True
        except DNError:
            continue
    return False


# -- publishing -------------------------------------------------------------------------------------------------
def load_signer(cert_path, key_path, passphrase=None):
    """``(private key, [leaf, intermediates...], leaf DN)`` of the publisher's credential (PEM files)."""
    try:
        with open(cert_path, "rb") as handle:
            chain = x509.load_pem_x509_certificates(handle.read())
        if _is_proxy(chain[0]):
            raise ConfigError("%s is an RFC 3820 proxy: sign with the end-entity credential" % cert_path,
                              operation="load signing credential")
        with open(key_path, "rb") as handle:
            key = serialization.load_pem_private_key(handle.read(), password=passphrase.encode("utf-8")
                                                     if passphrase else None)
    except (IOError, OSError) as err:
        raise ConfigError("cannot read the signing credential: %s" % err, operation="load signing credential")
    except (ValueError, TypeError) as err:
        raise ConfigError("cannot load the signing credential (%s): %s" % (cert_path, err),
                          operation="load signing credential")
    leaf = chain[0]
    if leaf.public_key().public_numbers() != key.public_key().public_numbers():
        raise ConfigError("the key %s does not belong to the certificate %s" % (key_path, cert_path),
                          operation="load signing credential")
    return key, chain, certificate_dn(leaf)


def _algorithm_for(key):
    if isinstance(key, rsa.RSAPrivateKey):
        return "RS256"
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
        return "ES256"
    raise ConfigError("the signing key must be RSA or EC P-256", operation="load signing credential")


def sign(document_bytes, key, chain):
    """The detached JWS of ``document_bytes`` (text)."""
    alg = _algorithm_for(key)
    header = {"alg": alg, "typ": JWS_TYPE,
              "x5c": [base64.b64encode(c.public_bytes(serialization.Encoding.DER)).decode("ascii") for c in chain]}
    protected = _b64url(json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    signing_input = (protected + "." + _b64url(document_bytes)).encode("ascii")
    if alg == "RS256":
        signature = key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
    else:
        r, s = decode_dss_signature(key.sign(signing_input, ec.ECDSA(hashes.SHA256())))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")  # JWS ES256: r || s (RFC 7518 3.4)
    return "%s..%s\n" % (protected, _b64url(signature))


def document(entries_list, serial, issued, expires, publisher):
    """The bytes of a signed-list document (keys sorted: the same content gives the same bytes)."""
    body = {"format": FORMAT, "serial": serial, "issued": iso(issued), "expires": iso(expires),
            "publisher": publisher, "list": entries_list}
    return (json.dumps(body, sort_keys=True, indent=1, ensure_ascii=False) + "\n").encode("utf-8")


def signature_matches(document_bytes, sig_text, cert):
    """True when ``sig_text`` is a valid signature of ``document_bytes`` by ``cert``'s key (no chain check: for the
    publisher, to tell whether what it published is still intact)."""
    try:
        parts, header = _header(sig_text)
        signing_input = (parts[0] + "." + _b64url(document_bytes)).encode("ascii")
        _check_signature(cert, header["alg"], signing_input, _unb64url(parts[2], "signature value"))
    except SignatureError:
        return False
    return True


# -- verification -----------------------------------------------------------------------------------------------
def _is_proxy(cert):
    return any(ext.oid.dotted_string == PROXY_CERT_INFO_OID for ext in cert.extensions)


def _header(sig_text):
    text = sig_text.decode("ascii", "replace") if isinstance(sig_text, bytes) else sig_text
    if len(text) > MAX_SIGNATURE_BYTES:
        raise SignatureError("the signature is larger than %d bytes" % MAX_SIGNATURE_BYTES,
                             operation="verify signature")
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[1] != "" or not parts[0] or not parts[2]:
        raise SignatureError("the signature is not a detached JWS (<header>..<signature>): truncated or not a "
                             "signature of this format", operation="verify signature")
    try:
        header = json.loads(_unb64url(parts[0], "header").decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise SignatureError("the signature's header is not JSON", operation="verify signature")
    if not isinstance(header, dict):
        raise SignatureError("the signature's header is not a JSON object", operation="verify signature")
    if header.get("alg") not in ALGORITHMS:
        raise SignatureError("signature algorithm %r is not accepted (only %s)"
                             % (header.get("alg"), ", ".join(ALGORITHMS)), operation="verify signature")
    if set(header.get("crit") or []):
        raise SignatureError("the signature names critical header parameters this reader does not know: %s"
                             % ", ".join(map(str, header["crit"])), operation="verify signature")
    return parts, header


def _chain(header):
    x5c = header.get("x5c")
    if not isinstance(x5c, list) or not x5c or not all(isinstance(c, str) for c in x5c):
        raise SignatureError("the signature carries no certificate chain (x5c)", operation="verify signature")
    try:
        return [x509.load_der_x509_certificate(base64.b64decode(c, validate=True)) for c in x5c]
    except (binascii.Error, ValueError):
        raise SignatureError("the signature's certificate chain (x5c) is not base64 DER certificates",
                             operation="verify signature")


def _check_signature(leaf, alg, signing_input, signature):
    public = leaf.public_key()
    try:
        if alg in ("RS256", "PS256"):
            if not isinstance(public, rsa.RSAPublicKey):
                raise SignatureError("signature algorithm %s needs an RSA certificate" % alg,
                                     operation="verify signature")
            pad = padding.PKCS1v15() if alg == "RS256" else padding.PSS(mgf=padding.MGF1(hashes.SHA256()),
                                                                        salt_length=32)
            public.verify(signature, signing_input, pad, hashes.SHA256())
        else:
            if not isinstance(public, ec.EllipticCurvePublicKey) or len(signature) != 64:
                raise SignatureError("signature algorithm ES256 needs a P-256 certificate and a 64-byte signature",
                                     operation="verify signature")
            der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
            public.verify(der, signing_input, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        raise SignatureError("the signature does not match the list's bytes (the list was changed after it was "
                             "signed, or the signature belongs to another list)", operation="verify signature")


def _check_chain(leaf, intermediates, cas, now):
    if _is_proxy(leaf):
        raise SignatureError("the list is signed with an RFC 3820 proxy (%s): only an end-entity certificate may "
                             "sign it" % certificate_dn(leaf), operation="verify signer certificate")
    builder = PolicyBuilder().store(Store(cas)).time(now)
    # the CA rules of the web PKI for the chain (basic constraints, key usage); none for the grid end-entity
    # certificate itself, whose extensions vary between CAs
    builder = builder.extension_policies(ca_policy=ExtensionPolicy.webpki_defaults_ca(),
                                         ee_policy=ExtensionPolicy.permit_all())
    try:
        builder.build_client_verifier().verify(leaf, intermediates)
    except VerificationError as err:
        raise SignatureError("the signer certificate %s does not verify against the CA directory at %s: %s"
                             % (certificate_dn(leaf), iso(now), err), operation="verify signer certificate")


def verify(document_bytes, sig_text, cas, trusted_signers, now, last=None):
    """Verify a signed list; returns the document (dict) with ``signer`` (slash-form DN) and ``sha256`` added.

    ``cas``: CA certificates (``load_ca_directory``). ``trusted_signers``: DNs allowed to publish (required,
    non-empty). ``last``: ``{"serial": n, "sha256": hex}`` of the list applied last, or None. Raises
    ``SignatureError`` on anything that cannot be trusted."""
    if CRYPTOGRAPHY_IMPORT_ERROR:
        raise ConfigError("verifying a signed list needs the Python library cryptography 45 or newer",
                          operation="verify signature")
    if not trusted_signers:
        raise ConfigError("trusted_signers is empty: say whose signature is accepted", operation="check options")
    parts, header = _header(sig_text)
    chain = _chain(header)
    signing_input = (parts[0] + "." + _b64url(document_bytes)).encode("ascii")
    _check_signature(chain[0], header["alg"], signing_input, _unb64url(parts[2], "signature value"))
    _check_chain(chain[0], chain[1:], cas, now)
    signer = certificate_dn(chain[0])
    if not dn_matches(signer, trusted_signers):
        raise SignatureError("the list is signed by %s, who is not in trusted_signers" % signer,
                             operation="verify signer")
    doc = _document(document_bytes, now)
    digest = hashlib.sha256(document_bytes).hexdigest()
    if last and last.get("serial") is not None:
        if doc["serial"] < last["serial"]:
            raise SignatureError("serial %d is older than serial %d, applied before: refusing a rollback"
                                 % (doc["serial"], last["serial"]), operation="check serial")
        if doc["serial"] == last["serial"] and last.get("sha256") and last["sha256"] != digest:
            raise SignatureError("serial %d was applied before with other content: a publisher must raise the "
                                 "serial for every change" % doc["serial"], operation="check serial")
    doc["signer"] = signer
    doc["sha256"] = digest
    return doc


def _document(document_bytes, now):
    try:
        doc = json.loads(document_bytes.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise SignatureError("the signed list is not UTF-8 JSON", operation="read signed list")
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SignatureError("the signed document is not a %s" % FORMAT, operation="read signed list")
    if not isinstance(doc.get("serial"), int) or isinstance(doc.get("serial"), bool) or doc["serial"] < 1:
        raise SignatureError("serial %r is not a positive integer" % (doc.get("serial"),), operation="read signed list")
    if not isinstance(doc.get("list"), dict):
        raise SignatureError("the signed document has no list", operation="read signed list")
    issued = parse_iso(doc.get("issued"), "issued")
    expires = parse_iso(doc.get("expires"), "expires")
    if expires <= now:
        raise SignatureError("the list (serial %d) expired at %s" % (doc["serial"], iso(expires)),
                             operation="check expiry")
    if issued > now + datetime.timedelta(minutes=5):
        raise SignatureError("the list (serial %d) is issued in the future (%s)" % (doc["serial"], iso(issued)),
                             operation="check expiry")
    return doc
