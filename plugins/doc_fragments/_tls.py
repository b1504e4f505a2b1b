# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with TLS_SPEC in plugins/module_utils/_http.py (shared by every backend).
    DOCUMENTATION = r"""
options:
  client_cert:
    description:
      - PEM file with the client certificate used for mutual TLS.
      - If not set, the environment variable E(X509_USER_CERT) is used.
      - Requires O(client_key); mutually exclusive with O(proxy_file).
    type: path
  client_key:
    description:
      - PEM file with the (unencrypted) private key of O(client_cert).
      - If not set, the environment variable E(X509_USER_KEY) is used.
    type: path
  proxy_file:
    description:
      - RFC 3820 proxy file (certificate, key and chain in one PEM file) used as client credential.
      - If not set, the environment variable E(X509_USER_PROXY) is used.
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
      - Timeout of each request, in seconds.
    type: float
    default: 30
  retries:
    description:
      - How many times a request is retried after a connection error (never after a reply from the server).
    type: int
    default: 2
"""
