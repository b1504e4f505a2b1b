# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class of the Rucio modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``RucioModule`` adds to ``GridsecModule`` the Rucio connection options ``RUCIO_SPEC`` (documented by the ``_rucio``
doc fragment), their validation and one ``RucioClient`` (one login, one token) per run.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import env_fallback

from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import check_base_url, validate_tls_options
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import GridsecModule
from ansible_collections.gridsec.ops.plugins.module_utils._rucio.client import RucioClient

RUCIO_SPEC = dict(
    rucio_url=dict(type="str", required=True, fallback=(env_fallback, ["RUCIO_URL"])),
    rucio_auth_type=dict(type="str", default="userpass", choices=["userpass", "x509"]),
    rucio_account=dict(type="str", default="root", fallback=(env_fallback, ["RUCIO_ACCOUNT"])),
    rucio_username=dict(type="str", fallback=(env_fallback, ["RUCIO_USERNAME"])),
    rucio_password=dict(type="str", no_log=True, fallback=(env_fallback, ["RUCIO_PASSWORD"])),
)


class RucioModule(GridsecModule):
    def __init__(self, argument_spec=None, **kwargs):
        super(RucioModule, self).__init__(connection_specs=(RUCIO_SPEC,), argument_spec=argument_spec, **kwargs)
        problems = validate_tls_options(timeout=self.params.get("timeout"), retries=self.params.get("retries"))
        url_problem = check_base_url(self.params.get("rucio_url"), "rucio_url",
                                     example="https://rucio-server.example.org",
                                     hint="the password and the auth token travel in request headers: never over "
                                          "plain http")
        if url_problem:
            problems.insert(0, url_problem)
        if self.params["rucio_auth_type"] == "userpass" and not (self.params.get("rucio_username")
                                                                 and self.params.get("rucio_password")):
            problems.append("rucio_auth_type=userpass needs rucio_username and rucio_password")
        if problems:
            self.fail_json(msg="invalid options: %s" % "; ".join(problems), changed=False)

    @property
    def server_label(self):
        return self.params["rucio_url"].split("://", 1)[-1].split("/", 1)[0]

    def client(self):
        if self._client is None:
            userpass = self.params["rucio_auth_type"] == "userpass"
            kwargs = {}
            if userpass and not (self.params.get("client_cert") or self.params.get("proxy_file")):
                kwargs["credential_fallback"] = False  # no certificate needed for a userpass login
            transport = self.new_transport(HttpTransport, self.params["rucio_url"].rstrip("/"),
                                           server_label=self.server_label, **kwargs)
            self._client = RucioClient(transport, server_label=self.server_label,
                                       account=self.params["rucio_account"], auth=self.params["rucio_auth_type"],
                                       username=self.params.get("rucio_username"),
                                       password=self.params.get("rucio_password"))
        return self._client
