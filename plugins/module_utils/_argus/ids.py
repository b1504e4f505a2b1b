# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Names the PAP's objects carry that the Argus modules and the sync's targets share: the policy id prefixes that tell
a PAP a policy's visibility, and the mark of objects owned by ``suspension_list_sync``.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

No imports, on purpose: the sync's Argus and ban-file targets need these names on every run, without the policy
planner and the policy view (and what they import) that only a change uses.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

# Private policies made through the XACML service: the PAP names them ``prefix + "-" + uuid``
# (WizardUtils.generateId) but decides visibility by splitting the id on ``_`` (PolicyWizard.isPublic), so the
# prefix ``private`` would give a *public* ``private-<uuid>`` policy. ``private_`` gives ``private_-<uuid>``,
# which the PAP (and ``Policy.public``) reads as private.
PUBLIC_ID_PREFIX = "public"
PRIVATE_ID_PREFIX = "private_"

#: the start of the description of every PAP object (and the header of every ban file) the sync owns
SYNC_OWNER_MARK = "gridsec.ops suspension_list_sync"
