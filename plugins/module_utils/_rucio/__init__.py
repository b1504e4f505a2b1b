# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Rucio: the REST client, account logic and the module base.

PRIVATE to the gridsec.ops collection: this package may change at any time, without notice.
"""
