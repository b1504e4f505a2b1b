# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Argus: the PAP client (SOAP, XACML), the module base, planners, the canary, the PDP evaluator and the lint.

PRIVATE to the gridsec.ops collection: this package may change at any time, without notice.
"""
