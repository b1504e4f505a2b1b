# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""PanDA: the API and monitor clients, the ban database, job parsing, bans, kills and user names.

PRIVATE to the gridsec.ops collection: this package may change at any time, without notice.
"""
