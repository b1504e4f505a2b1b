# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The emergency suspension list: entries, sources, merge and safety rails, state and audit log.

PRIVATE to the gridsec.ops collection: this package may change at any time, without notice.
"""
