"""A small test PKI for the lab: CA, hashed CA directory, host and user credentials, RFC 3820 proxies.

Everything is created on first use and reused afterwards, so several lab servers and test sessions can
share one directory. The layout mirrors what grid hosts have:

    <dir>/ca/ca.pem, ca.key            the lab CA
    <dir>/certificates/<hash>.0        hashed CA directory (like /etc/grid-security/certificates)
    <dir>/hosts/<name>/{cert,key}.pem  host credentials valid for localhost and 127.0.0.1
    <dir>/users/<slug>/{cert,key}.pem  user credentials
    <dir>/users/<slug>/proxy.pem       RFC 3820 proxy (proxy cert, proxy key, user cert), like X509_USER_PROXY
"""
import dataclasses
import datetime
import fcntl
import ipaddress
import os
import re
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID, ObjectIdentifier

# id-pe-proxyCertInfo (RFC 3820) and the policy languages it names.
PROXY_CERT_INFO_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.14")
POLICY_INHERIT_ALL = "1.3.6.1.5.5.7.21.1"
POLICY_LIMITED = "1.3.6.1.4.1.3536.1.1.1.9"  # Globus "limited proxy" policy language

LAB_BASE = "/DC=test/DC=gridsec-lab"
KEY_SIZE = 2048

_OID_BY_NAME = {
    "DC": NameOID.DOMAIN_COMPONENT,
    "C": NameOID.COUNTRY_NAME,
    "ST": NameOID.STATE_OR_PROVINCE_NAME,
    "L": NameOID.LOCALITY_NAME,
    "O": NameOID.ORGANIZATION_NAME,
    "OU": NameOID.ORGANIZATIONAL_UNIT_NAME,
    "CN": NameOID.COMMON_NAME,
    "UID": NameOID.USER_ID,
    "emailAddress": NameOID.EMAIL_ADDRESS,
}
_NAME_BY_OID = {oid: name for name, oid in _OID_BY_NAME.items()}


@dataclasses.dataclass(frozen=True)
class Credential:
    """A certificate and key on disk, with the subject DN in OpenSSL slash form."""

    cert: str
    key: str
    dn: str
    proxy: str = None  # RFC 3820 proxy file for user credentials, when made

    def as_dict(self):
        return dataclasses.asdict(self)


def slash_to_name(dn):
    """'/DC=ch/CN=John Doe' -> x509.Name (certificate order). Values may contain '/' when the
    following part has no '=' (like '/CN=host/foo.example.org')."""
    parts = []
    for piece in dn.split("/")[1:]:
        if "=" in piece and re.match(r"^[A-Za-z][A-Za-z0-9.-]*=", piece):
            parts.append(piece)
        elif parts:
            parts[-1] += "/" + piece
        else:
            raise ValueError("not an OpenSSL slash-form DN: %r" % dn)
    rdns = []
    for part in parts:
        key, value = part.split("=", 1)
        oid = _OID_BY_NAME.get(key)
        if oid is None:
            raise ValueError("unsupported attribute %r in %r" % (key, dn))
        rdns.append(x509.RelativeDistinguishedName([x509.NameAttribute(oid, value)]))
    return x509.Name(rdns)


def name_to_slash(name):
    """x509.Name -> OpenSSL slash form (certificate order)."""
    out = []
    for rdn in name.rdns:
        out.append("+".join("%s=%s" % (_NAME_BY_OID.get(a.oid, a.oid.dotted_string), a.value) for a in rdn))
    return "".join("/" + item for item in out)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def _write(path, data, mode=0o644):
    tmp = path + ".tmp%d" % os.getpid()
    with open(tmp, "wb") as handle:
        handle.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _key_pem(key):
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption())


def _cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def _slug(text):
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


class TestPKI:
    """A lab certificate authority in ``directory`` (created on first use, reused afterwards)."""

    __test__ = False  # not a pytest test class

    def __init__(self, directory, ca_dn=LAB_BASE + "/CN=Gridsec Lab CA"):
        self.directory = os.path.abspath(directory)
        self.ca_dn = ca_dn
        os.makedirs(self.directory, exist_ok=True)
        self.ca_cert_path = os.path.join(self.directory, "ca", "ca.pem")
        self.ca_key_path = os.path.join(self.directory, "ca", "ca.key")
        self.ca_dir = os.path.join(self.directory, "certificates")
        with self._lock():
            if not os.path.exists(self.ca_cert_path):
                self._make_ca()
        with open(self.ca_cert_path, "rb") as handle:
            self._ca_cert = x509.load_pem_x509_certificate(handle.read())
        with open(self.ca_key_path, "rb") as handle:
            self._ca_key = serialization.load_pem_private_key(handle.read(), None)

    # -- internals -----------------------------------------------------------------------------
    def _lock(self):
        """A process-wide file lock, so parallel lab processes do not race on first creation."""
        path = os.path.join(self.directory, ".lock")

        class _Lock:
            def __enter__(inner):
                inner.handle = open(path, "a+")
                fcntl.flock(inner.handle, fcntl.LOCK_EX)
                return inner

            def __exit__(inner, *exc):
                fcntl.flock(inner.handle, fcntl.LOCK_UN)
                inner.handle.close()

        return _Lock()

    def _make_ca(self):
        os.makedirs(os.path.dirname(self.ca_cert_path), exist_ok=True)
        os.makedirs(self.ca_dir, exist_ok=True)
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
        name = slash_to_name(self.ca_dn)
        cert = (
            x509.CertificateBuilder()
            .subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(days=1))
            .not_valid_after(_now() + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                         crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        _write(self.ca_key_path, _key_pem(key), 0o600)
        _write(self.ca_cert_path, _cert_pem(cert))
        # OpenSSL looks certificates up in a CA directory by subject hash: '<hash>.0'.
        subject_hash = subprocess.run(["openssl", "x509", "-noout", "-subject_hash", "-in", self.ca_cert_path],
                                      check=True, capture_output=True, text=True).stdout.strip()
        _write(os.path.join(self.ca_dir, subject_hash + ".0"), _cert_pem(cert))

    def _issue(self, dn, key, *, server_names=(), client=True, days=365):
        builder = (
            x509.CertificateBuilder()
            .subject_name(slash_to_name(dn)).issuer_name(self._ca_cert.subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(_now() - datetime.timedelta(hours=1))
            .not_valid_after(_now() + datetime.timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=True,
                                         data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                         crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(self._ca_key.public_key()),
                           critical=False)
        )
        usages = [ExtendedKeyUsageOID.CLIENT_AUTH] if client else []
        if server_names:
            usages.insert(0, ExtendedKeyUsageOID.SERVER_AUTH)
            sans = []
            for item in server_names:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(item)))
                except ValueError:
                    sans.append(x509.DNSName(item))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        return builder.sign(self._ca_key, hashes.SHA256())

    def _credential(self, folder, dn, **kwargs):
        cert_path = os.path.join(folder, "cert.pem")
        key_path = os.path.join(folder, "key.pem")
        with self._lock():
            if not os.path.exists(cert_path):
                os.makedirs(folder, exist_ok=True)
                key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
                cert = self._issue(dn, key, **kwargs)
                _write(key_path, _key_pem(key), 0o600)
                _write(cert_path, _cert_pem(cert))
        return Credential(cert=cert_path, key=key_path, dn=dn)

    # -- public API ----------------------------------------------------------------------------
    def host(self, name, names=("localhost", "127.0.0.1")):
        """Host credential '/DC=test/DC=gridsec-lab/OU=hosts/CN=<name>.lab.gridsec.test', valid for
        localhost and 127.0.0.1 (every lab server listens there)."""
        fqdn = name if "." in name else name + ".lab.gridsec.test"
        dn = LAB_BASE + "/OU=hosts/CN=" + fqdn
        return self._credential(os.path.join(self.directory, "hosts", _slug(fqdn)), dn,
                                server_names=tuple(names) + (fqdn,), client=True)

    def user(self, common_name, dn=None):
        """User credential. ``dn`` (slash form) overrides the default
        '/DC=test/DC=gridsec-lab/OU=Users/CN=<common_name>'."""
        dn = dn or LAB_BASE + "/OU=Users/CN=" + common_name
        cred = self._credential(os.path.join(self.directory, "users", _slug(dn)), dn)
        return dataclasses.replace(cred, proxy=self.proxy(cred))

    def proxy(self, cred, limited=False, days=2):
        """RFC 3820 proxy for ``cred``: one PEM file with the proxy certificate, its key and the
        user certificate (the X509_USER_PROXY layout grid clients use)."""
        path = os.path.join(os.path.dirname(cred.cert), "proxy-limited.pem" if limited else "proxy.pem")
        with self._lock():
            if os.path.exists(path):
                return path
            with open(cred.cert, "rb") as handle:
                user_cert = x509.load_pem_x509_certificate(handle.read())
            with open(cred.key, "rb") as handle:
                user_key = serialization.load_pem_private_key(handle.read(), None)
            proxy_key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
            serial = x509.random_serial_number() >> 96  # proxies carry a numeric CN equal to their serial
            subject = x509.Name(list(user_cert.subject.rdns) + [
                x509.RelativeDistinguishedName([x509.NameAttribute(NameOID.COMMON_NAME, str(serial))])])
            policy = POLICY_LIMITED if limited else POLICY_INHERIT_ALL
            proxy_cert = (
                x509.CertificateBuilder()
                .subject_name(subject).issuer_name(user_cert.subject).public_key(proxy_key.public_key())
                .serial_number(serial)
                .not_valid_before(_now() - datetime.timedelta(minutes=5))
                .not_valid_after(min(_now() + datetime.timedelta(days=days), user_cert.not_valid_after_utc))
                .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                             key_encipherment=True, data_encipherment=False, key_agreement=False,
                                             key_cert_sign=False, crl_sign=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.UnrecognizedExtension(PROXY_CERT_INFO_OID, _proxy_cert_info_der(policy)),
                               critical=True)
                .sign(user_key, hashes.SHA256())
            )
            _write(path, _cert_pem(proxy_cert) + _key_pem(proxy_key) + _cert_pem(user_cert), 0o600)
        return path


def _der_len(length):
    if length < 0x80:
        return bytes([length])
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([0x80 | len(body)]) + body


def _der_oid(dotted):
    arcs = [int(x) for x in dotted.split(".")]
    body = bytes([40 * arcs[0] + arcs[1]])
    for arc in arcs[2:]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body += bytes(reversed(chunk))
    return b"\x06" + _der_len(len(body)) + body


def _proxy_cert_info_der(policy_language):
    """ProxyCertInfo ::= SEQUENCE { pCPathLenConstraint INTEGER OPTIONAL, proxyPolicy ProxyPolicy }
    ProxyPolicy ::= SEQUENCE { policyLanguage OBJECT IDENTIFIER, policy OCTET STRING OPTIONAL }"""
    policy = _der_oid(policy_language)
    proxy_policy = b"\x30" + _der_len(len(policy)) + policy
    return b"\x30" + _der_len(len(proxy_policy)) + proxy_policy
