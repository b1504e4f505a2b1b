# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""extras/check_suspension_status: exit codes of the Nagios plugin API for each case, UNKNOWN when in doubt; the
status metrics read back with prometheus_client's parser (promtool: test_suspension_status.py)."""

import json
import os
import subprocess
import sys
import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ansible_collections.gridsec.ops.plugins.module_utils._suspension import status as st

WRAPPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "extras", "check_suspension_status")


def _run(tmp_path, result, *args):
    path = tmp_path / "result.json"
    if result is not None:
        path.write_text(result if isinstance(result, str) else json.dumps(result))
    proc = subprocess.run([sys.executable, WRAPPER, "--result", str(path)] + list(args), capture_output=True,
                          text=True, timeout=60)
    return proc.returncode, proc.stdout


@pytest.mark.parametrize("code", [0, 1, 2, 3])
def test_the_module_verdict_is_the_exit_code(tmp_path, code):
    text = "SUSPENSION STATUS X - y | 'a_serial'=1;;;0\na (file): X - z"
    got = _run(tmp_path, {"nagios": {"code": code, "text": text}, "checked_at": int(time.time())}, "--max-age", "60")
    assert got == (code, text + "\n")


@pytest.mark.parametrize("result,args,needle", [
    (None, (), "cannot read the result"),
    ("{broken", (), "cannot read the result"),
    ({"failed": True, "msg": "missing library psycopg"}, (), "the task failed: missing library psycopg"),
    ({"nagios": {"code": 0, "text": "OK"}, "checked_at": 1}, ("--max-age", "60"), "too old"),
    ({"nagios": {"code": 0, "text": "OK"}}, ("--max-age", "60"), "age unknown"),
    ({"nagios": {"code": 0, "text": "OK"}}, ("--max-age", "soon"), "usage error"),
])
def test_doubt_is_unknown(tmp_path, result, args, needle):
    code, out = _run(tmp_path, result, *args)
    assert code == 3 and out.startswith("SUSPENSION STATUS UNKNOWN - ") and needle in out, out


def _item(name, **extra):
    item = {"name": name, "type": "file", "serial": 5, "applied": None, "entries": 3, "canary_present": True,
            "problems": [], "age_seconds": 60}
    item.update(extra)
    code, reasons = st.verdict(item, 5, "expected", 3600, None)
    item.update(status_code=code, state=st.STATUS_NAMES[code].lower(), reasons=reasons)
    return item


def test_prometheus_text_parses_and_labels_each_target():
    items = [_item('we"ird\\name'), _item("down", error="x")]
    text = st.prometheus_text(items, "site", 1765100000, last_read="2025-12-07T09:33:20Z")
    families = dict((f.name, f) for f in text_string_to_metric_families(text))
    serial = families["gridsec_suspension_serial"].samples
    assert [(s.labels, s.value) for s in serial] == [({"sync": "site", "target": 'we"ird\\name', "type": "file"}, 5)]
    assert [s.value for s in families["gridsec_suspension_up"].samples] == [1, 0]
    assert [s.value for s in families["gridsec_suspension_status"].samples] == [0, 3]
    assert families["gridsec_suspension_canary_present"].samples[0].value == 1
    assert families["gridsec_suspension_check_timestamp_seconds"].samples[0].value == 1765100000
    assert families["gridsec_suspension_sync_last_read_timestamp_seconds"].samples[0].value == 1765100000
