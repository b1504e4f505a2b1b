# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Standard attributes of a state-changing module (support levels are set by each module).
    DOCUMENTATION = r"""
options: {}
attributes:
  check_mode:
    description: Can run in C(check_mode) and return changed status prediction without modifying the target.
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in C(check_mode)), when in diff mode.
  idempotent:
    description:
      - When run twice in a row outside check mode, with the same arguments, the second invocation indicates no change.
      - This assumes that the system controlled/queried by the module has not changed in a relevant way.
"""

    # An information module: read-only, never changes anything.
    INFO_MODULE = r"""
options: {}
attributes:
  check_mode:
    support: full
    details:
      - This action does not modify state.
  diff_mode:
    support: N/A
    details:
      - This action does not modify state.
  idempotent:
    support: full
    details:
      - This action does not modify state.
"""

    ACTIONGROUP_ARGUS = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/gridsec.ops.argus) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - gridsec.ops.argus
"""

    ACTIONGROUP_PANDA = r"""
options: {}
attributes:
  action_group:
    description: Use C(group/gridsec.ops.panda) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - gridsec.ops.panda
"""
