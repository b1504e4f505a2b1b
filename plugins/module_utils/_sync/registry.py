# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The table of ``suspension_list_sync`` target types, and the ``targets`` option spec assembled from it.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Adding a target type: its class in its own file of this package (``base.SyncTarget``), its ``OPTIONS`` dict in
``specs.py``, and ONE line in ``TARGET_TYPES`` below plus its loader (see docs/development.md, "Adding a sync
target type").

Why lazy: the module builds the ``targets`` spec on every run, and under AnsiballZ every module_util it imports is
compiled from source again on every run (no .pyc). The spec needs only the ``specs.py`` dicts; a class (with its
clients, SOAP, XACML, database backends) is imported when a target of its type is configured. The loaders are
plain ``from ... import`` statements inside functions, so that Ansible's module_utils finder still packs them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy

from ansible_collections.gridsec.ops.plugins.module_utils._sync import specs


class LazyType(object):
    """One entry of ``TARGET_TYPES``: the type's ``OPTIONS`` (from ``specs.py``) and ``load()``, which imports and
    returns its class. ``target_class`` also takes a class itself in a table (tests register classes so)."""

    __slots__ = ("OPTIONS", "load")

    def __init__(self, options, load):
        self.OPTIONS = options
        self.load = load


def _argus():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.argus import ArgusTarget
    return ArgusTarget


def _panda():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.panda import PandaTarget
    return PandaTarget


def _file():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.files import FileTarget
    return FileTarget


def _htcondor_ce():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.htcondor_ce import HtcondorCeTarget
    return HtcondorCeTarget


def _dcache():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.dcache import DcacheTarget
    return DcacheTarget


def _arc():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.arc_ce import ArcCeTarget
    return ArcCeTarget


def _rucio():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.rucio import RucioTarget
    return RucioTarget


def _iam():
    from ansible_collections.gridsec.ops.plugins.module_utils._sync.iam import IamTarget
    return IamTarget


#: the target types by the value of the target's ``type`` option: their options and how to load their class
TARGET_TYPES = {
    "argus": LazyType(specs.ARGUS_OPTIONS, _argus),
    "panda": LazyType(specs.PANDA_OPTIONS, _panda),
    "file": LazyType(specs.FILE_OPTIONS, _file),
    "htcondor_ce": LazyType(specs.HTCONDOR_CE_OPTIONS, _htcondor_ce),
    "dcache": LazyType(specs.DCACHE_OPTIONS, _dcache),
    "arc": LazyType(specs.ARC_OPTIONS, _arc),
    "rucio": LazyType(specs.RUCIO_OPTIONS, _rucio),
    "iam": LazyType(specs.IAM_OPTIONS, _iam),
}

#: the connection options a source or target may override (default: the module-level option of the same name)
TLS_OPTIONS = specs.TLS_OPTIONS


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


def load_type(entry):
    """The class of a ``TARGET_TYPES`` entry (a ``LazyType`` is imported now; a class is itself)."""
    return entry.load() if isinstance(entry, LazyType) else entry


def target_class(spec, types=None):
    """The class of a target ``spec`` (its ``type`` is one of the choices, checked by the argument spec)."""
    return load_type((TARGET_TYPES if types is None else types)[spec["type"]])


def resolved_spec(spec, params):
    """A target's options with the module-level value of each option it leaves unset (connection and TLS
    options, ``db_*``): what ``spec_problems`` checks and the target is built from (the sync and the status)."""
    return dict((key, params[key] if value is None and key in params and key not in ("name", "type") else value)
                for key, value in spec.items())
