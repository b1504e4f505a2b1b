# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with TLS_SPEC in plugins/module_utils/_http_options.py (shared by every backend).
    DOCUMENTATION = r"""
notes:
  - "Client credential, in this order (like the grid clients): O(proxy_file), or O(client_cert) and
    O(client_key), given as options; then the environment variable E(X509_USER_PROXY) (it wins when
    E(X509_USER_CERT) is set as well: proxy first); then E(X509_USER_CERT) and E(X509_USER_KEY); then the
    default proxy location C(/tmp/x509up_u<uid>) of the user the module runs as, when that file exists."
  - Timeouts must be greater than 0 and O(retries) at least 0; such errors, a missing file or an encrypted key
    without O(client_key_passphrase) are reported before anything is sent.
options:
  client_cert:
    description:
      - PEM file with the client certificate used for mutual TLS.
      - If neither this nor O(proxy_file) is set, the environment is used (see the notes).
      - Needs O(client_key) (or E(X509_USER_KEY)); mutually exclusive with O(proxy_file).
    type: path
  client_key:
    description:
      - PEM file with the private key of O(client_cert). An encrypted key needs O(client_key_passphrase).
      - If not set while O(client_cert) is, the environment variable E(X509_USER_KEY) is used.
    type: path
  client_key_passphrase:
    description:
      - Passphrase of an encrypted O(client_key) (or of the key in O(proxy_file)).
      - An encrypted key without a passphrase fails before connecting, saying that the key is encrypted.
    type: str
  proxy_file:
    description:
      - RFC 3820 proxy file (certificate, key and chain in one PEM file) used as client credential.
      - If neither this nor O(client_cert) is set, E(X509_USER_PROXY) is used, then (after
        E(X509_USER_CERT)/E(X509_USER_KEY)) C(/tmp/x509up_u<uid>) when it exists (see the notes).
      - Mutually exclusive with O(client_cert) and O(client_key).
    type: path
  ca_path:
    description:
      - CA certificates used to verify the server, either a PEM file or a hashed CA directory such as
        C(/etc/grid-security/certificates).
      - If not set, the environment variable E(X509_CERT_DIR) is used, then the default.
    type: path
    default: /etc/grid-security/certificates
  validate_certs:
    description:
      - Verify the server certificate. Only switch this off for tests.
    type: bool
    default: true
  timeout:
    description:
      - Timeout of each request, in seconds. Must be greater than 0.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried after a connection error (never after a reply from the server).
      - Must be 0 or more.
    type: int
    default: 2
"""
