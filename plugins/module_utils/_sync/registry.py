# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The table of ``suspension_list_sync`` target types, and the ``targets`` option spec assembled from it.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Adding a target type: its class in its own file of this package (``base.SyncTarget``), and ONE line in
``TARGET_TYPES`` below (see docs/development.md, "Adding a sync target type").
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus import ArgusTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import DcacheTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.files import FileTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.iam import IamTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.panda import PandaTarget
from ansible_collections.gridsec.ops.plugins.module_utils._sync.rucio import RucioTarget

#: the target classes by the value of the target's ``type`` option
TARGET_TYPES = {
    "argus": ArgusTarget,
    "panda": PandaTarget,
    "file": FileTarget,
    "htcondor_ce": HtcondorCeTarget,
    "dcache": DcacheTarget,
    "arc": ArcCeTarget,
    "rucio": RucioTarget,
    "iam": IamTarget,
}

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


def common_options(types=None):
    """The options of every target, whatever its type."""
    spec = dict(
        name=dict(type="str", required=True),
        type=dict(type="str", required=True, choices=list(types if types is not None else TARGET_TYPES)),
        canary=dict(type="str", choices=["keep", "skip"]),
    )
    spec.update(copy.deepcopy(TLS_OPTIONS))
    return spec


def target_spec(types=None):
    """The ``targets`` sub-spec: the common options + every type's ``OPTIONS``. An option two types declare must
    have the same spec (one option, one meaning); a type may not redefine a common option."""
    types = TARGET_TYPES if types is None else types
    spec = common_options(types)
    owners = dict((key, "common") for key in spec)
    for type_name in sorted(types):
        for key, option in types[type_name].OPTIONS.items():
            if key in spec and (owners[key] == "common" or spec[key] != option):
                raise ValueError("target type %s: option %s conflicts with the one of %s"
                                 % (type_name, key, owners[key]))
            spec[key] = copy.deepcopy(option)
            owners[key] = type_name
    return spec


def target_class(spec, types=None):
    """The class of a target ``spec`` (its ``type`` is one of the choices, checked by the argument spec)."""
    return (TARGET_TYPES if types is None else types)[spec["type"]]


def resolved_spec(spec, params):
    """A target's options with the module-level value of each option it leaves unset (connection and TLS
    options, ``db_*``): what ``spec_problems`` checks and the target is built from (the sync and the status)."""
    return dict((key, params[key] if value is None and key in params and key not in ("name", "type") else value)
                for key, value in spec.items())
