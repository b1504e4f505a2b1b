# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""INDIGO IAM: the SCIM/admin client and the module base.

PRIVATE to the gridsec.ops collection: this package may change at any time, without notice.
"""
