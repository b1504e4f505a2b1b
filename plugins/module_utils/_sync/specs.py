# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The option specs of ``suspension_list_sync``'s target types and resolvers, as plain dicts.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Why a file of its own: the module builds its whole argument spec on every run, and under AnsiballZ every
module_util it imports is compiled from source again on every run. The spec of a type must therefore come without
its implementation (clients, SOAP, XACML, database backends): ``registry.TARGET_TYPES`` pairs each spec here with
a loader that imports the target class only when a target of that type is configured. Each class's ``OPTIONS``
is the dict of this file (``tests/unit/plugins/modules/test_sync_registry.py`` checks they stay one).
This file imports nothing of the collection but ``_panda/specs.py`` (dicts too).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._panda.specs import PANDA_DB_SPEC

#: the connection options a source or target may override (default: the module-level option of the same name)
TLS_OPTIONS = dict(
    client_cert=dict(type="path"),
    client_key=dict(type="path"),
    proxy_file=dict(type="path", no_log=False),
    ca_path=dict(type="path"),
    validate_certs=dict(type="bool"),
    timeout=dict(type="float"),
    retries=dict(type="int"),
)

#: the PAP options an Argus source or target may override
PAP_OPTIONS = dict(pap_host=dict(type="str"), pap_port=dict(type="int"), pap_path=dict(type="str"))
PAP_KEYS = ("pap_host", "pap_port", "pap_path")

# -- argus (_sync/argus.py) -------------------------------------------------------------------------------------
#: default of the target option ``max_request_bytes`` (why this value: ``_sync/argus.py``)
DEFAULT_MAX_REQUEST_BYTES = 1024 * 1024
#: default of the target option ``full_read_interval`` (why: ``_sync/argus.py``)
DEFAULT_FULL_READ_INTERVAL = 3600
ARGUS_OPTIONS = dict(alias=dict(type="str", default="default"), public=dict(type="bool", default=True),
                     max_request_bytes=dict(type="int", default=DEFAULT_MAX_REQUEST_BYTES),
                     full_read_interval=dict(type="int", default=DEFAULT_FULL_READ_INTERVAL), **PAP_OPTIONS)

# -- panda (_sync/panda.py) -------------------------------------------------------------------------------------
# a panda target's database options are the module's own, each overriding the top-level one when set: no default
# here, or db_backend would always override
PANDA_TARGET_DB_OPTIONS = copy.deepcopy(PANDA_DB_SPEC)
PANDA_TARGET_DB_OPTIONS["db_backend"].pop("default", None)
PANDA_OPTIONS = dict(
    panda_url=dict(type="str"),
    create_missing=dict(type="bool", default=True),
    kill_jobs=dict(type="bool", default=False),
    kill_code=dict(type="int", default=9),
    kill_tasks=dict(type="bool", default=False),
    allow_similar_names=dict(type="bool", default=False),
    **PANDA_TARGET_DB_OPTIONS
)

# -- file (_sync/files.py) --------------------------------------------------------------------------------------
#: the names of the ban-file formats (``files.FORMATS`` holds one object per name)
FILE_FORMATS = ("lcas", "gplazma", "plain", "template")
FILE_OPTIONS = dict(
    path=dict(type="path"),
    format=dict(type="str", default="plain", choices=list(FILE_FORMATS)),
    template=dict(type="str"),
    header=dict(type="str"),
    include_fqans=dict(type="bool"),
    mode=dict(type="str", default="0640"),
    owner=dict(type="str"),
    group=dict(type="str"),
)

# -- the owned-block file targets (_sync/filewrite.py BlockFileTarget and its types) ----------------------------
BLOCK_FILE_OPTIONS = dict(
    path=dict(type="path"),
    mode=dict(type="str", default="0640"),
    owner=dict(type="str"),
    group=dict(type="str"),
)
HTCONDOR_CE_OPTIONS = dict(
    BLOCK_FILE_OPTIONS,
    htcondor_ban_user=dict(type="str", default="gridsec-banned"),
    htcondor_order_check=dict(type="str", default="refuse", choices=["refuse", "warn"]),
    reload_command=dict(type="list", elements="str"),
)
DCACHE_OPTIONS = dict(
    BLOCK_FILE_OPTIONS,
    dcache_op_aliases=dict(type="dict"),
    dcache_version=dict(type="str"),
)
ARC_OPTIONS = dict(
    BLOCK_FILE_OPTIONS,
    arc_authgroup=dict(type="str", default="gridsec-banned"),
    reload_command=dict(type="list", elements="str"),
)

# -- rucio (_sync/rucio.py) -------------------------------------------------------------------------------------
RUCIO_OPTIONS = dict(
    rucio_url=dict(type="str"),
    rucio_auth_type=dict(type="str", default="userpass", choices=["userpass", "x509"]),
    rucio_account=dict(type="str", default="root"),
    rucio_username=dict(type="str"),
    rucio_password=dict(type="str", no_log=True),
    rucio_lookup_max_age=dict(type="str", default="24h"),
)

# -- iam (_sync/iam.py) -----------------------------------------------------------------------------------------
#: the default label of a suspension; equal to ``_iam.account.DEFAULT_LABEL`` (a unit test keeps them so)
IAM_DEFAULT_LABEL = "gridsec.suspended"
IAM_OPTIONS = dict(
    iam_url=dict(type="str"),
    iam_issuer=dict(type="str"),
    client_id=dict(type="str"),
    client_secret=dict(type="str", no_log=True),
    bearer_token=dict(type="str", no_log=True),
    iam_label_name=dict(type="str", default=IAM_DEFAULT_LABEL),
    iam_revoke_tokens=dict(type="bool", default=True),
    iam_dn_scan=dict(type="bool", default=True),
)

# -- resolve_tokens (_sync/resolve_iam.py) ----------------------------------------------------------------------
#: the suboptions of one ``resolve_tokens`` item besides the TLS options (the module adds ``TLS_OPTIONS``)
RESOLVE_OPTIONS = dict(
    name=dict(type="str", required=True),
    type=dict(type="str", default="iam", choices=["iam"]),
    iam_url=dict(type="str", required=True),
    iam_issuer=dict(type="str"),
    client_id=dict(type="str"),
    client_secret=dict(type="str", no_log=True),
    bearer_token=dict(type="str", no_log=True),
    dn_scan=dict(type="bool", default=True),
    on_failure=dict(type="str", default="fail", choices=["fail", "use_cache"]),
    cache_max_age=dict(type="str", default="24h"),
)
