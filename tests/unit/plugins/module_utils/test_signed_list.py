# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The signed, versioned suspension list (issue 19 item 1): what the verifier refuses, and why."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import datetime
import json

import pytest

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

from ansible_collections.gridsec.ops.plugins.module_utils import _signed_list as signed
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError

NOW = datetime.datetime(2026, 12, 7, 10, 0, 0, tzinfo=datetime.timezone.utc)
LIST = {"version": 1, "entries": [{"dn": "/DC=org/DC=example/CN=Mallory 42", "reason": "INC-1"},
                                  {"fqan": "/atlas/bad"}]}


def _name(*pairs):
    return x509.Name([x509.NameAttribute(oid, value) for oid, value in pairs])


def _cert(subject, key, issuer, issuer_key, ca=False, days=(-1, 365), proxy=False):
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer).public_key(key.public_key())
               .serial_number(x509.random_serial_number())
               .not_valid_before(NOW + datetime.timedelta(days=days[0]))
               .not_valid_after(NOW + datetime.timedelta(days=days[1]))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if ca:
        builder = builder.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                        critical=True)
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    builder = builder.add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                                    critical=False)
    if proxy:  # RFC 3820 ProxyCertInfo, inherit-all policy (DER built by hand: cryptography has no class for it)
        builder = builder.add_extension(x509.UnrecognizedExtension(
            ObjectIdentifier("1.3.6.1.5.5.7.1.14"), bytes.fromhex("300c300a06082b06010505071501")), critical=True)
    return builder.sign(issuer_key, hashes.SHA256())


class PKI(object):
    def __init__(self, ca_cn="Test CA"):
        self.ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ca_name = _name((NameOID.DOMAIN_COMPONENT, "org"), (NameOID.COMMON_NAME, ca_cn))
        self.ca = _cert(self.ca_name, self.ca_key, self.ca_name, self.ca_key, ca=True, days=(-10, 3650))

    def user(self, cn, key=None, **kwargs):
        key = key or rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = _name((NameOID.DOMAIN_COMPONENT, "org"), (NameOID.DOMAIN_COMPONENT, "example"),
                     (NameOID.COMMON_NAME, cn))
        return key, _cert(name, key, self.ca_name, self.ca_key, **kwargs)


@pytest.fixture(scope="module")
def pki():
    return PKI()


@pytest.fixture(scope="module")
def publisher(pki):
    return pki.user("Grid Security Officer")


def _signed(publisher, serial=7, list_doc=None, issued=NOW, expires=NOW + datetime.timedelta(days=1)):
    key, cert = publisher
    body = signed.document(list_doc or LIST, serial, issued, expires, "/DC=org/DC=example/CN=Grid Security Officer")
    return body, signed.sign(body, key, [cert])


TRUSTED = ["CN=Grid Security Officer,DC=example,DC=org"]  # comma form: compared semantically with the slash form


def test_a_good_list_verifies_and_names_its_signer(pki, publisher):
    body, sig = _signed(publisher)
    doc = signed.verify(body, sig, [pki.ca], TRUSTED, NOW)
    assert doc["serial"] == 7 and doc["list"] == LIST
    assert doc["signer"] == "/DC=org/DC=example/CN=Grid Security Officer"


def test_an_ec_p256_signature_verifies(pki):
    ec_publisher = pki.user("Grid Security Officer", key=ec.generate_private_key(ec.SECP256R1()))
    body, sig = _signed(ec_publisher)
    assert json.loads(base64.urlsafe_b64decode(sig.split(".")[0] + "=="))["alg"] == "ES256"
    assert signed.verify(body, sig, [pki.ca], TRUSTED, NOW)["serial"] == 7


@pytest.mark.parametrize("mangle, text", [
    (lambda sig: sig[:len(sig) // 2], "signature"),                        # truncated
    (lambda sig: "", "not a detached JWS"),                                  # empty
    (lambda sig: sig.replace("..", ".e30."), "not a detached JWS"),          # payload attached
    (lambda sig: sig.strip() + "AAAA", "does not match"),                    # signature value changed
    (lambda sig: "x" * (signed.MAX_SIGNATURE_BYTES + 1), "larger than"),     # hostile size
])
def test_a_damaged_signature_is_refused(pki, publisher, mangle, text):
    body, sig = _signed(publisher)
    with pytest.raises(signed.SignatureError) as err:
        signed.verify(body, mangle(sig), [pki.ca], TRUSTED, NOW)
    assert text in str(err.value)


def test_a_signature_over_other_bytes_is_refused(pki, publisher):
    body, sig = _signed(publisher)
    tampered = body.replace(b"Mallory 42", b"Mallory 43")
    with pytest.raises(signed.SignatureError, match="does not match the list's bytes"):
        signed.verify(tampered, sig, [pki.ca], TRUSTED, NOW)


@pytest.mark.parametrize("alg", ["none", "HS256", None])
def test_algorithms_off_the_list_are_refused(pki, publisher, alg):
    body, sig = _signed(publisher)
    header = json.loads(base64.urlsafe_b64decode(sig.split(".")[0] + "=="))
    header["alg"] = alg
    forged = signed._b64url(json.dumps(header).encode()) + ".." + sig.strip().split("..")[1]
    with pytest.raises(signed.SignatureError, match="is not accepted"):
        signed.verify(body, forged, [pki.ca], TRUSTED, NOW)


def test_a_chain_from_another_ca_is_refused(publisher):
    other = PKI("Other CA")
    body, sig = _signed(publisher)
    with pytest.raises(signed.SignatureError, match="does not verify against the CA directory"):
        signed.verify(body, sig, [other.ca], TRUSTED, NOW)


def test_a_self_signed_look_alike_of_the_publisher_is_refused(pki):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = _name((NameOID.DOMAIN_COMPONENT, "org"), (NameOID.DOMAIN_COMPONENT, "example"),
                 (NameOID.COMMON_NAME, "Grid Security Officer"))
    fake = _cert(name, key, name, key, ca=True)
    body, sig = _signed((key, fake))
    with pytest.raises(signed.SignatureError, match="does not verify against the CA directory"):
        signed.verify(body, sig, [pki.ca], TRUSTED, NOW)


def test_an_expired_signer_certificate_is_refused(pki):
    old = pki.user("Grid Security Officer", days=(-400, -1))
    body, sig = _signed(old)
    with pytest.raises(signed.SignatureError, match="does not verify"):
        signed.verify(body, sig, [pki.ca], TRUSTED, NOW)


def test_a_proxy_may_not_sign(pki, publisher):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    user_key, user_cert = publisher
    proxy_name = x509.Name(list(user_cert.subject) + [x509.NameAttribute(NameOID.COMMON_NAME, "123456")])
    proxy = _cert(proxy_name, key, user_cert.subject, user_key, proxy=True)
    body = signed.document(LIST, 7, NOW, NOW + datetime.timedelta(days=1), "x")
    sig = signed.sign(body, key, [proxy, user_cert])
    with pytest.raises(signed.SignatureError, match="RFC 3820 proxy"):
        signed.verify(body, sig, [pki.ca], TRUSTED, NOW)


def test_a_signer_not_trusted_is_refused_even_with_a_valid_chain(pki):
    body, sig = _signed(pki.user("Somebody Else"))
    with pytest.raises(signed.SignatureError, match="not in trusted_signers"):
        signed.verify(body, sig, [pki.ca], TRUSTED, NOW)


def test_an_empty_trusted_signers_is_a_config_error(pki, publisher):
    body, sig = _signed(publisher)
    with pytest.raises(ConfigError, match="trusted_signers is empty"):
        signed.verify(body, sig, [pki.ca], [], NOW)


def test_rollback_and_replay_are_refused(pki, publisher):
    body, sig = _signed(publisher, serial=7)
    first = signed.verify(body, sig, [pki.ca], TRUSTED, NOW)
    with pytest.raises(signed.SignatureError, match="older than serial 8"):
        signed.verify(body, sig, [pki.ca], TRUSTED, NOW, last={"serial": 8, "sha256": "x"})
    other, other_sig = _signed(publisher, serial=7, list_doc={"version": 1, "entries": []})
    with pytest.raises(signed.SignatureError, match="applied before with other content"):
        signed.verify(other, other_sig, [pki.ca], TRUSTED, NOW, last={"serial": 7, "sha256": first["sha256"]})
    # the same document again is no rollback: a reader may fetch it twice
    assert signed.verify(body, sig, [pki.ca], TRUSTED, NOW, last={"serial": 7, "sha256": first["sha256"]})


def test_an_expired_list_is_refused(pki, publisher):
    body, sig = _signed(publisher, issued=NOW - datetime.timedelta(days=2), expires=NOW - datetime.timedelta(hours=1))
    with pytest.raises(signed.SignatureError, match="expired at 2026-12-07T09:00:00Z"):
        signed.verify(body, sig, [pki.ca], TRUSTED, NOW)


def test_a_document_of_another_format_is_refused_even_when_signed(pki, publisher):
    key, cert = publisher
    body = json.dumps({"version": 1, "entries": []}).encode()
    with pytest.raises(signed.SignatureError, match="is not a gridsec.ops/signed-suspension-list/v1"):
        signed.verify(body, signed.sign(body, key, [cert]), [pki.ca], TRUSTED, NOW)


def test_the_publisher_can_tell_its_own_signature(publisher, pki):
    body, sig = _signed(publisher)
    assert signed.signature_matches(body, sig, publisher[1])
    assert not signed.signature_matches(body + b" ", sig, publisher[1])
    assert not signed.signature_matches(body, sig, pki.user("Somebody Else")[1])
