# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Writing files on the managed node: atomically, with the mode (and owner) they must have.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Used by the sync's state and ban files, ``suspension_list_publish``, the incident record and ``argus_canary``'s
metrics file and report.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os
import tempfile


def write_atomic(path, data, mode, owner=None, group=None, make_dirs=True):
    """Write ``data`` (bytes, or a list of bytes-like pieces written one after the other) to ``path`` through a
    temporary file in the same directory and a rename, with ``mode`` (and ``owner``/``group`` when given): a reader
    sees the old content or the new one, never a part.

    ``make_dirs``: create a missing directory (0700); otherwise a missing directory is an ``OSError``."""
    directory = os.path.dirname(os.path.abspath(path))
    if make_dirs and not os.path.isdir(directory):
        os.makedirs(directory, 0o700)
    fd, tmp = tempfile.mkstemp(prefix=".%s." % os.path.basename(path), dir=directory)
    try:
        with os.fdopen(fd, "wb") as handle:
            for piece in ((data,) if isinstance(data, bytes) else data):
                handle.write(piece)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        if owner is not None or group is not None:
            os.chown(tmp, -1 if owner is None else owner, -1 if group is None else group)
        os.rename(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


__all__ = ["write_atomic"]
