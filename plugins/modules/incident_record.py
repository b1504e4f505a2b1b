#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: incident_record
short_description: Write the record of an incident (JSON) with every action, its result and timestamps
version_added: 0.2.0
description:
  - Keeps one JSON file per incident (C(format = gridsec.ops/incident-record/v1)) with the incident's summary
    (what the site reported, the job, the user and DN, reason, ticket), one entry per run of the incident
    playbook with the actions of that run (name, status, timestamps, result), and the mails sent (written by
    M(gridsec.ops.incident_mail), kept as they are).
  - "A run whose actions changed nothing, on a record whose summary is unchanged, is not appended: running the
    same incident again leaves the record as it is and reports C(changed=false). A run that changed something,
    or failed, is appended."
  - The file is written atomically with mode C(0600) (it names people and may quote their payload); a file that is
    not an incident record is never overwritten.
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - only the Python standard library
extends_documentation_fragment:
  - gridsec.ops._attributes
attributes:
  check_mode:
    support: full
    details:
      - Nothing is written; RV(record) is the record as it would be written.
  diff_mode:
    support: full
  idempotent:
    support: full
options:
  path:
    description: Path of the record on the node the module runs on; its directory must exist.
    type: path
    required: true
  incident:
    description: Incident identifier (for example the ticket number). Must match the one in an existing record.
    type: str
    required: true
  summary:
    description:
      - What is known about the incident; replaces the stored summary when different.
      - When not set, the stored summary is kept (for example by the unban playbook).
    type: dict
  actions:
    description:
      - The actions of this run, in order. Each is a dict with at least C(name) and C(status) (V(changed), V(ok),
        V(skipped), V(failed), V(would_change) in check mode); C(started), C(finished), C(changed) and a
        C(result) are kept as given.
    type: list
    elements: dict
    required: true
  run_started:
    description: When this run started (UTC, ISO 8601); the time of the call when not set.
    type: str
"""

EXAMPLES = r"""
- name: Record the run
  gridsec.ops.incident_record:
    path: /var/lib/gridsec/incidents/GRIDSEC-2026-001.json
    incident: GRIDSEC-2026-001
    summary:
      panda_id: 4711
      user: Alice Lab
    actions:
      - name: ban_panda
        status: changed
        changed: true
        started: "2026-12-01T04:00:00Z"
        finished: "2026-12-01T04:00:01Z"
        result: {user: Alice Lab, state: banned}
"""

RETURN = r"""
record:
  description: The record as written (in check mode, as it would be written).
  returned: always
  type: dict
run:
  description: The run entry appended by this call, or an empty dict when nothing was appended.
  returned: always
  type: dict
path:
  description: Path of the record.
  returned: always
  type: str
error:
  description:
    - Why the task failed, in the same shape for every failure (also one found before any server was contacted).
    - C(type) (the error class, for example V(TLSError), V(AuthorizationError), V(ConfigError), V(MissingLibrary),
      V(ModuleFailure)), C(kind) (V(transport), V(tls), V(remote), V(authorization), V(not_found),
      V(write_refused), V(config), V(missing_library) or V(error)), C(msg), C(server) and C(operation) (null
      when no server operation failed), C(details) (dict of extra facts, never a secret).
  returned: failed
  type: dict
  sample: {"type": "AuthorizationError", "kind": "authorization", "msg": "HTTP 403 Forbidden: the server refused
    this credential", "server": "server.example.org:8443", "operation": "ban", "details": {"status": 403}}
"""

import copy

from ansible.module_utils.common.text.converters import to_native

from ansible_collections.gridsec.ops.plugins.module_utils import _incident
from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import StructuredModule

STATUSES = ("changed", "ok", "skipped", "failed", "would_change")


def main():
    module = StructuredModule(
        argument_spec=dict(
            path=dict(type="path", required=True),
            incident=dict(type="str", required=True),
            summary=dict(type="dict"),
            actions=dict(type="list", elements="dict", required=True),
            run_started=dict(type="str"),
        ),
        supports_check_mode=True,
    )
    module.exit_json(**module.run_guarded(run, module))


def check_actions(actions):
    for index, action in enumerate(actions):
        if not action.get("name"):
            raise ConfigError("actions[%d] has no name" % index, operation="check options")
        if action.get("status") not in STATUSES:
            raise ConfigError("actions[%d] (%s): status must be one of %s, got %r"
                              % (index, action.get("name"), ", ".join(STATUSES), action.get("status")),
                              operation="check options")


def run(module):
    """Append this run to the record when it did something (or the summary changed); returns the result."""
    params = module.params
    path = params["path"]
    check_actions(params["actions"])
    now = _incident.utc_timestamp()
    try:
        with _incident.locked(path, dry=module.check_mode):
            existing = _incident.load(path)
            if existing is not None and existing.get("incident") not in (None, params["incident"]):
                raise _incident.RecordError("%s is the record of incident %s, not %s"
                                            % (path, existing.get("incident"), params["incident"]))
            record = copy.deepcopy(existing) if existing is not None else _incident.new_record(params["incident"])
            record["incident"] = params["incident"]
            summary = (record.get("summary") or {}) if params["summary"] is None else params["summary"]
            summary_changed = record.get("summary") != summary
            acted = [a for a in params["actions"] if a.get("status") in ("changed", "failed", "would_change")
                     or a.get("changed")]
            append = existing is None or summary_changed or bool(acted)
            run_entry = {}
            if append:
                failed = any(a.get("status") == "failed" for a in params["actions"])
                run_entry = {"started": params["run_started"] or now, "finished": now,
                             "check_mode": module.check_mode, "status": "failed" if failed else "ok",
                             "actions": params["actions"]}
                record["summary"] = summary
                record.setdefault("runs", []).append(run_entry)
                record["updated"] = now
            result = dict(changed=append, record=record, run=run_entry, path=path)
            if module._diff:
                result["diff"] = {"before": existing or {}, "after": record}
            if append and not module.check_mode:
                _incident.save(path, record)
    except (OSError, IOError) as err:
        raise _incident.RecordError("incident record %s: %s" % (path, to_native(err)))
    return result


if __name__ == "__main__":
    main()
