# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""A ``SyncContext`` stand-in (contract C3) for building sync targets directly in unit tests."""


class FakeSyncContext(object):
    """The attributes of ``_sync.base.SyncContext``; ``state`` is the per-target state dict (name -> dict),
    ``client`` what ``pap_client`` returns, ``warnings``/``libraries`` record the calls."""

    def __init__(self, sync_name="sync", params=None, check_mode=False, state=None, client=None, list_serial=None,
                 applied_at="2026-01-01T00:00:00Z"):
        self.sync_name = sync_name
        self.list_serial = list_serial
        self.applied_at = applied_at
        self.params = dict(params or {}, name=sync_name)
        self.check_mode = check_mode
        self.state = state if state is not None else {}
        self.client = client
        self.warnings = []
        self.memo = {}
        self.libraries = []

    def target_state(self, name):
        return self.state.setdefault(name, {})

    def settings(self, spec, keys):
        return dict((key, self.params.get(key) if spec.get(key) is None else spec.get(key)) for key in keys)

    def tls_options(self, spec):  # pylint: disable=unused-argument
        return {}

    def pap_client(self, spec, role):  # pylint: disable=unused-argument
        return self.client

    def require_library(self, lib, import_error, why=None):
        self.libraries.append((lib, import_error, why))

    def warn(self, msg):
        self.warnings.append(msg)
