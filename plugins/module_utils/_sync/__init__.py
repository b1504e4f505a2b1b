# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The sync targets of ``suspension_list_sync``: one module per target type, on the interface in ``base``.

PRIVATE to the gridsec.ops collection: this package may change at any time, without notice.
"""
