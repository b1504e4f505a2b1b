# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE module_utils of the gridsec.ops collection: it may change at any time, without notice.
"""The incident record: one JSON file per incident, shared by ``incident_record`` (the runs and their actions)
and ``incident_mail`` (the message ids of the mails sent), each of which rewrites only its own part.

Layout::

    {"format": "gridsec.ops/incident-record/v1", "incident": "<id>", "created": ts, "updated": ts,
     "summary": {...},                     # what the playbook knows: input, job, user, DN, reason, ticket
     "runs": [{"started": ts, "finished": ts, "status": "ok|failed", "actions": [...]}, ...],
     "mails": {"<key>": {"message_id", "sent_at", "from", "to", "cc", "subject", "server", "content_sha256"}}}

Writes are atomic (temporary file in the same directory, fsync, rename) and serialised with an exclusive
``fcntl`` lock on ``<path>.lock``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import datetime
import json
import os

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError
from ansible_collections.gridsec.ops.plugins.module_utils._files import write_atomic

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX
    fcntl = None

RECORD_FORMAT = "gridsec.ops/incident-record/v1"


def utc_timestamp():
    return datetime.datetime.now(tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class RecordError(ConfigError):
    """The incident record cannot be read, locked or written (a ``GridsecError``: it fails the task through the
    module base's failure boundary)."""


@contextlib.contextmanager
def locked(path, dry=False):
    """Exclusive lock for a read-modify-write of the record at ``path``. ``dry`` (check mode): no lock file is
    created and a missing directory is fine (nothing will be written)."""
    if dry:
        yield
        return
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise RecordError("directory of the incident record %s does not exist" % path)
    handle = open(path + ".lock", "a")
    try:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        yield
    finally:
        if fcntl is not None:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        handle.close()


def load(path):
    """The record at ``path`` (a dict), or None when there is none yet. Refuses a file that is not a record."""
    if not os.path.exists(path):
        return None
    try:
        with open(path) as handle:
            data = json.load(handle)
    except ValueError as err:
        raise RecordError("%s is not valid JSON: %s" % (path, err))
    if not isinstance(data, dict) or data.get("format") != RECORD_FORMAT:
        raise RecordError("%s is not a gridsec.ops incident record (format %r): refusing to overwrite it"
                          % (path, data.get("format") if isinstance(data, dict) else type(data).__name__))
    return data


def new_record(incident):
    now = utc_timestamp()
    return {"format": RECORD_FORMAT, "incident": incident, "created": now, "updated": now,
            "summary": {}, "runs": [], "mails": {}}


def save(path, data):
    """Write ``data`` atomically (mode 0600: the record names people and may quote their payload)."""
    text = json.dumps(data, indent=2, sort_keys=True, default=str) + "\n"
    write_atomic(path, text.encode("utf-8"), 0o600, make_dirs=False)
