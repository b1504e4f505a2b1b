# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Job identification: ids from pilot directories and logs, payload URLs, job summaries, the monitor client,
and panda_job_info end to end (ansible-playbook) against a small local JSON HTTP server (real sockets)."""

import copy
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
import urllib.parse

import pytest

from ansible_collections.gridsec.ops.plugins.module_utils._errors import NotFoundError, RemoteError
from ansible_collections.gridsec.ops.plugins.module_utils._http import HttpTransport
from ansible_collections.gridsec.ops.plugins.module_utils._panda.jobs import (
    build_job_matches,
    job_options,
    job_summary,
    lib_file_of,
    needs_build_job,
    normalize_job,
    panda_id_from_path,
    panda_ids_from_pilotlog,
    panda_ids_in_path,
    payload_urls,
    split_job_parameters,
    utc_iso,
)
from ansible_collections.gridsec.ops.plugins.module_utils._panda.monitor import MonitorClient

HERE = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(HERE))))
FIXTURES = os.path.join(REPO_ROOT, "tests", "unit", "fixtures", "panda")
SHARED_REFERENCE = os.environ.get("GRIDSEC_SHARED_REFERENCE", os.path.join(REPO_ROOT, "..", "shared", "reference"))
SURL = "https://aipanda059.cern.ch:25443"
INTEGRATION_PLAYBOOK = os.path.join(REPO_ROOT, "tests", "integration", "playbooks", "panda_job_info.yml")


def collections_path():
    """Directory holding ``ansible_collections/`` that this test imported the collection from."""
    from ansible_collections.gridsec.ops.plugins.module_utils import _dn
    parts = os.path.abspath(_dn.__file__).split(os.sep)
    index = len(parts) - 1 - parts[::-1].index("ansible_collections")
    return os.sep.join(parts[:index])


def ansible_playbook():
    """The ansible-playbook next to this Python, else on PATH; skips the test when there is none."""
    candidate = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    found = candidate if os.path.exists(candidate) else shutil.which("ansible-playbook")
    if not found:
        pytest.skip("ansible-playbook not found next to %s nor on PATH" % sys.executable)
    # ansible-test units runs module tests without the controller code (no ansible.cli): these end-to-end
    # runs belong to the pytest tier then, where they run in full.
    probe = subprocess.run([found, "--version"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("ansible-playbook does not run in this environment: %s" % probe.stdout.strip().splitlines()[-1])
    return found


def fixture(name):
    with open(os.path.join(FIXTURES, name)) as handle:
        return json.load(handle) if name.endswith(".json") else handle.read()


def example_1001():
    """The reference reply when present (it is in CI), else the fixture copy of it."""
    path = os.path.join(SHARED_REFERENCE, "panda", "example_v1_job_get_description_1001.json")
    if os.path.exists(path):
        with open(path) as handle:
            return json.load(handle)["data"][0]
    return fixture("v1_job_get_description_1001.json")["data"][0]


def build_run_jobs():
    data = fixture("v1_job_get_description_build_run.json")["data"]
    return dict((job["PandaID"], job) for job in data)


# -- ids from paths ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("path, expected", [
    ("/scratch/PandaJob_4711_1500000000", 4711),                                    # pilot1
    ("/scratch/PandaJob_4711_1500000000/workDir/payload.out", 4711),
    ("/home/condor/dir_1/PanDA_Pilot3_4242_1767000000/PanDA_Pilot-6543210987", 6543210987),  # pilot3
    ("/home/condor/dir_1/PanDA_Pilot3_4242_1767000000/PanDA_Pilot-6543210987/athena/log", 6543210987),
    ("PanDA_Pilot-12/", 12),
    ("/logs/tarball_PandaJob_555_CERN-PROD_UCORE", 555),                            # log tarball
    ("C:\\pilot\\PanDA_Pilot-77\\x", 77),
    ("/a/PanDA_Pilot-1/b/PanDA_Pilot-2/c", 2),                                       # deepest wins
    ("/home/condor/dir_1/PanDA_Pilot3_4242_1767000000", None),                       # OS pid, not an id
    ("/home/condor/dir_1/PanDA_Pilot3_4242_1767000000/work", None),
    ("/scratch/PandaJob", None),                                                     # pilot1 after 2017
    ("/scratch/PandaJob_abc_1", None),
    ("/scratch/myPanDA_Pilot-5", None),
    ("", None),
    (None, None),
])
def test_panda_id_from_path(path, expected):
    assert panda_id_from_path(path) == expected


def test_panda_ids_in_path_reports_component_and_kind():
    found = panda_ids_in_path("/logs/tarball_PandaJob_555_SITE/PanDA_Pilot-556")
    assert found == [(556, "PanDA_Pilot-556", "pilot3"), (555, "tarball_PandaJob_555_SITE", "log tarball")]


# -- ids from pilot logs ------------------------------------------------------------------------------------
def test_pilotlog_pilot3_single_id_with_lines():
    found = panda_ids_from_pilotlog(fixture("pilotlog_pilot3.txt"))
    assert [entry["panda_id"] for entry in found] == [1001]
    assert found[0]["count"] == 4
    assert [line["line"] for line in found[0]["lines"]] == [1, 2, 3, 4]
    assert "export PandaID=1001" in found[0]["lines"][3]["text"]


def test_pilotlog_several_ids_are_all_reported_in_order():
    found = panda_ids_from_pilotlog(fixture("pilotlog_two_jobs.txt").splitlines())
    assert [(entry["panda_id"], entry["count"]) for entry in found] == [(1001, 2), (1004, 2)]


def test_pilotlog_pilot1_and_bytes_input():
    found = panda_ids_from_pilotlog(fixture("pilotlog_pilot1.txt").encode("utf-8"))
    assert [entry["panda_id"] for entry in found] == [987654321]


def test_pilotlog_ignores_lookalikes():
    text = "PanDA_TaskID=5001\nPanDA_Pilot3_4242_1767000000\nMyPandaID=12\nPanDA job finished\n"
    assert panda_ids_from_pilotlog(text) == []


# -- jobParameters ------------------------------------------------------------------------------------------
def test_split_job_parameters_tolerates_unbalanced_quotes():
    assert split_job_parameters('-j "" -p "run.sh x" -a f.tgz') == ["-j", "", "-p", "run.sh x", "-a", "f.tgz"]
    assert split_job_parameters('-p "unterminated -a x.tgz') == ["-p", "unterminated -a x.tgz"]
    assert split_job_parameters("-p 'it''s' -a y") == ["-p", "its", "-a", "y"]
    assert split_job_parameters("") == []


def test_job_options_forms():
    options = job_options('-j "" --sourceURL=https://h:1 -r . -p "run.sh" -a jobO.x.tar.gz --debug -n -1')
    assert options["-j"] == [""]
    assert options["--sourceURL"] == ["https://h:1"]
    assert options["-a"] == ["jobO.x.tar.gz"]
    assert options["--debug"] == [None]
    assert options["-n"] == ["-1"]


# -- payload URLs -------------------------------------------------------------------------------------------
def test_payload_prun_run_job_from_reference_example():
    urls, reason = payload_urls(example_1001())
    assert urls == [SURL + "/cache/jobO.0f1e2d3c-test.tar.gz"]
    assert "-a" in reason


def test_payload_build_job_uses_its_sandbox():
    jobs = build_run_jobs()
    urls, reason = payload_urls(jobs[2000])
    assert urls == [SURL + "/cache/sources.6a1b2c3d-build.tar.gz"]
    assert "build job" in reason


def test_payload_athena_run_job_never_takes_input_data_after_i():
    jobs = build_run_jobs()
    run = jobs[2001]
    assert needs_build_job(run)
    assert lib_file_of(run) == "user.jdoe.20261122.lib._000042.lib.tgz"
    urls, reason = payload_urls(run)
    assert urls == []
    assert "build job" in reason and "not found" in reason
    assert not any("data.AOD" in url for url in urls)


def test_payload_run_job_follows_its_build_job():
    jobs = build_run_jobs()
    urls, reason = payload_urls(jobs[2001], build_job=jobs[2000])
    assert urls == [SURL + "/cache/sources.6a1b2c3d-build.tar.gz"]
    assert "2000" in reason


def test_payload_refuses_the_wrong_build_job():
    jobs = build_run_jobs()
    assert build_job_matches(jobs[2001], jobs[2000])
    assert not build_job_matches(jobs[2001], jobs[1999])      # produces another lib file
    assert not build_job_matches(jobs[2001], jobs[2001])      # not a build job
    urls, reason = payload_urls(jobs[2001], build_job=jobs[1999])
    assert urls == [] and "is not its build job" in reason


def test_payload_build_job_matched_by_task_when_no_file_names():
    jobs = build_run_jobs()
    run = copy.deepcopy(jobs[2001])
    run["Files"] = []
    run["jobParameters"] = run["jobParameters"].replace("-l user.jdoe.20261122.lib._000042.lib.tgz", "-l ${LIB}")
    build = copy.deepcopy(jobs[2000])
    build["Files"] = []
    build["jobParameters"] = "-i sources.6a1b2c3d-build.tar.gz -o ${OUT} --sourceURL %s" % SURL
    assert needs_build_job(run) and lib_file_of(run) is None
    assert payload_urls(run, build)[0] == [SURL + "/cache/sources.6a1b2c3d-build.tar.gz"]
    build["jediTaskID"] = 9999
    build["jobsetID"] = 9999
    assert payload_urls(run, build)[0] == []


@pytest.mark.parametrize("params, label, why", [
    ('-j "" -r . -p "run.sh" -a jobO.x.tar.gz', "user", "no --sourceURL"),
    ('-j "" --sourceURL ${SURL} -r . -a jobO.x.tar.gz', "user", "not substituted"),
    ('-j "" --sourceURL not-a-url -a jobO.x.tar.gz', "user", "not a URL"),
    ('-j "" --sourceURL https://h:1 -r . -p "run.sh"', "user", "no -a archive and no build job"),
    ("-i ${IN} -o ${OUT} --sourceURL https://h:1", "panda", "not substituted"),
    ("-o lib.tgz --sourceURL https://h:1", "panda", "without a -i sandbox"),
    ("", "user", "no jobParameters"),
])
def test_payload_undeterminable_says_why(params, label, why):
    job = dict(example_1001(), jobParameters=params, prodSourceLabel=label)
    urls, reason = payload_urls(job)
    assert urls == []
    assert why in reason


# -- summaries ----------------------------------------------------------------------------------------------
def test_job_summary_of_reference_example():
    summary = job_summary(example_1001())
    assert summary["PandaID"] == 1001
    assert summary["prodUserID"] == "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe"
    assert summary["prodUserName"] == "John Doe"
    assert summary["creationHost"] == "lxplus900.cern.ch"
    assert summary["creationTime"] == "2026-11-22T11:08:34.185726Z"
    assert summary["modificationTime"] == "2026-11-22T11:08:34.185726Z"
    assert summary["computingSite"] == "TEST_SITE"
    assert summary["jobStatus"] == "running"
    assert summary["commandToPilot"] == "tobekilled"
    assert summary["jobsetID"] == 7 and summary["jobDefinitionID"] == 1 and summary["jediTaskID"] is None
    assert summary["prodSourceLabel"] == "user"
    assert summary["batchID"] == "1234567.0"
    assert summary["transformation"].endswith("/runGen-00-00-02")
    assert summary["payload_exec"] == "run.sh"
    assert summary["payload_urls"] == [SURL + "/cache/jobO.0f1e2d3c-test.tar.gz"]
    assert summary["taskBufferErrorDiag"].startswith("killed by ")
    json.dumps(summary)  # JSON-serialisable for module results


@pytest.mark.parametrize("value, expected", [
    ({"__datetime__": "2026-11-22T11:08:34.185726"}, "2026-11-22T11:08:34.185726Z"),
    ("2026-11-22T12:00:00+01:00", "2026-11-22T11:00:00Z"),
    ("2026-11-22 11:08:34", "2026-11-22T11:08:34Z"),
    ("2026-11-22T11:08:34Z", "2026-11-22T11:08:34Z"),
    (None, None),
    ("", None),
    ("not a date", "not a date"),
])
def test_utc_iso(value, expected):
    assert utc_iso(value) == expected


def test_normalize_monitor_lowercase_record():
    record = fixture("monitor_job_2001.json")["job"]
    job = normalize_job(record)
    assert job["PandaID"] == 2001
    assert job["prodUserName"] == "John Doe"
    assert job["jediTaskID"] == 5001
    assert job["computingSite"] == "TEST_SITE"
    assert utc_iso(job["creationTime"]) == "2026-11-22T12:00:00Z"  # the monitor shows naive UTC times


# -- a small JSON HTTP server (real sockets) ---------------------------------------------------------------
class FakeServer(object):
    """PanDA API v1 (job/get_description_incl_archive, task/get_job_ids) and BigPanDA monitor views."""

    def __init__(self, jobs, monitor=None):
        self.jobs = jobs
        self.monitor = monitor or {}
        self.seen = []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _reply(self, status, payload, content_type="application/json"):
                body = payload if isinstance(payload, bytes) else json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                server.seen.append(("GET", self.path, dict(self.headers)))
                url = urllib.parse.urlsplit(self.path)
                query = urllib.parse.parse_qs(url.query, keep_blank_values=True)
                if url.path == "/api/v1/task/get_job_ids":
                    task = int(query["task_id"][0])
                    ids = sorted(i for i, j in server.jobs.items() if j.get("jediTaskID") == task)
                    return self._reply(200, {"success": True, "message": "", "data": ids})
                if url.path in ("/job", "/jobs/") and "json" not in query:
                    return self._reply(200, b"<html>login</html>", "text/html")
                key = (url.path, tuple(sorted((k, v[0]) for k, v in query.items() if k != "json")))
                if key in server.monitor:
                    payload = server.monitor[key]
                    return self._reply(200, payload, "text/html" if isinstance(payload, bytes) else "application/json")
                if url.path == "/job":
                    return self._reply(200, {"job": {}, "files": []})
                return self._reply(404, {"error": "no such view"})

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                server.seen.append(("POST", self.path, body))
                if self.path in ("/api/v1/job/get_description_incl_archive", "/api/v1/job/get_description"):
                    data = [server.jobs.get(int(i)) for i in body["job_ids"]]
                    return self._reply(200, {"success": True, "message": "", "data": data})
                return self._reply(403, b"ERROR : method is forbidden", "text/plain")

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def monitor_views():
    batch = fixture("monitor_jobs_batchid.json")
    return {
        ("/job", (("pandaid", "2001"),)): fixture("monitor_job_2001.json"),
        ("/job", (("pandaid", "2000"),)): fixture("monitor_job_2000.json"),
        ("/jobs/", (("dump", "parameters"), ("pandaid", "2001"))): fixture("monitor_params_2001.json"),
        ("/jobs/", (("dump", "parameters"), ("pandaid", "2000"))): fixture("monitor_params_2000.json"),
        ("/jobs/", (("batchid", "schedd01.example.org#1234.0#1767000000"),)): batch,
        ("/jobs/", (("jeditaskid", "5001"), ("prodsourcelabel", "panda"))): {
            "jobs": [fixture("monitor_job_2000.json")["job"], dict(fixture("monitor_job_2001.json")["job"])]},
    }


def all_jobs():
    jobs = build_run_jobs()
    jobs[1001] = example_1001()
    return jobs


def test_monitor_client_batch_id_exact_and_site_filter():
    with FakeServer({}, monitor_views()) as server:
        client = MonitorClient(HttpTransport(server.url, validate_certs=False, retries=0), token="s3cret",
                               token_type="Token")
        jobs = client.jobs_by_batch_id("schedd01.example.org#1234.0#1767000000")
        assert sorted(job["PandaID"] for job in jobs) == [3001, 3002]        # not 3003 (case), not 3004 (prefix)
        only_a = client.jobs_by_batch_id("schedd01.example.org#1234.0#1767000000", computing_site="SITE_A")
        assert [job["PandaID"] for job in only_a] == [3001]
        method, path, headers = server.seen[0]
        assert path.endswith("&json") and "%23" in path
        assert headers.get("Authorization") == "Token s3cret"
        assert all("s3cret" not in json.dumps(op) for op in client.operations)


def test_monitor_client_job_with_parameters_and_missing_job():
    with FakeServer({}, monitor_views()) as server:
        client = MonitorClient(HttpTransport(server.url, validate_certs=False, retries=0))
        job = client.get_job_with_parameters(2001)
        assert job["PandaID"] == 2001 and job["prodUserName"] == "John Doe"
        assert "-l user.jdoe.20261122.lib._000042.lib.tgz" in job["jobParameters"]
        assert "user.jdoe.20261122.lib._000042.lib.tgz" in [f["lfn"] for f in job["Files"]]
        assert client.get_job(424242) is None
        builds = client.build_job_candidates(jedi_task_id=5001)
        assert [b["PandaID"] for b in builds] == [2000]
        assert "Authorization" not in server.seen[0][2]


def test_monitor_client_html_reply_and_404_are_errors():
    sso_page = {("/jobs/", (("batchid", "b1"),)): b"<html><body>Sign in with CERN SSO</body></html>"}
    with FakeServer({}, sso_page) as server:
        client = MonitorClient(HttpTransport(server.url, validate_certs=False, retries=0))
        with pytest.raises(RemoteError, match="SSO login page"):
            client.jobs_by_batch_id("b1")
        with pytest.raises(NotFoundError):
            client.build_job_candidates(jedi_task_id=1)  # no such view here: HTTP 404


# -- the module end to end ----------------------------------------------------------------------------------
def run_play(playbook, extravars, tmp_path):
    vars_file = tmp_path / "vars.json"
    vars_file.write_text(json.dumps(extravars))
    env = dict(os.environ)
    env["ANSIBLE_COLLECTIONS_PATH"] = collections_path()
    env["ANSIBLE_LOCALHOST_WARNING"] = "false"
    env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "false"
    env["ANSIBLE_STDOUT_CALLBACK"] = "ansible.builtin.default"
    env.pop("X509_USER_PROXY", None)
    return subprocess.run([ansible_playbook(), str(playbook),
                           "-e", "@%s" % vars_file, "-e", "ansible_python_interpreter=%s" % sys.executable],
                          env=env, capture_output=True, text=True, timeout=600, check=False)


def test_integration_playbook_against_local_server(tmp_path):
    if not os.path.exists(INTEGRATION_PLAYBOOK):
        pytest.skip("%s is not part of the built collection" % INTEGRATION_PLAYBOOK)
    jobs = all_jobs()
    with FakeServer(jobs, monitor_views()) as server:
        proc = run_play(INTEGRATION_PLAYBOOK, {
            "conn": {"panda_url": server.url, "validate_certs": False, "retries": 0},
            "job_id": 1001, "missing_id": 999999, "workdir_base": str(tmp_path / "pilots"),
            "expected_user": "John Doe", "expected_site": "TEST_SITE",
            "expected_dn": "/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=jdoe/CN=123456/CN=John Doe",
            "expected_payload_urls": [SURL + "/cache/jobO.0f1e2d3c-test.tar.gz"],
        }, tmp_path)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-3000:]
    assert "failed=0" in proc.stdout


CHECK_PLAY = """
- hosts: localhost
  gather_facts: false
  tasks:
    - gridsec.ops.panda_job_info: "{{ args }}"
      register: out
      ignore_errors: true
    - ansible.builtin.copy:
        dest: "{{ result_file }}"
        content: "{{ out | to_json }}"
"""


def module_result(tmp_path, args):
    playbook = tmp_path / "play.yml"
    playbook.write_text(CHECK_PLAY)
    result_file = tmp_path / "result.json"
    proc = run_play(playbook, {"args": args, "result_file": str(result_file)}, tmp_path)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    return json.loads(result_file.read_text())


def test_module_follows_the_build_job_through_the_api(tmp_path):
    with FakeServer(all_jobs()) as server:
        out = module_result(tmp_path, {"panda_id": 2001, "panda_url": server.url, "validate_certs": False})
    assert not out.get("failed"), out
    assert out["payload_urls"] == [SURL + "/cache/sources.6a1b2c3d-build.tar.gz"]
    assert out["build_job"]["PandaID"] == 2000
    assert out["jobs"][0]["build_job_id"] == 2000
    assert out["jobs"][0]["creationTime"] == "2026-11-22T11:00:00Z"
    assert out["sources_used"] == ["panda_server"]
    assert [r["path"] for r in out["requests"]] == [
        "/api/v1/job/get_description_incl_archive", "/api/v1/task/get_job_ids",
        "/api/v1/job/get_description_incl_archive"]


def test_module_build_job_not_found_says_why(tmp_path):
    jobs = all_jobs()
    del jobs[2000]
    with FakeServer(jobs) as server:
        out = module_result(tmp_path, {"panda_id": 2001, "panda_url": server.url, "validate_certs": False})
    assert not out.get("failed"), out
    assert out["payload_urls"] == []
    assert "not found" in out["payload_url_reason"] and "JEDI task 5001" in out["payload_url_reason"]
    assert "build_job" not in out


def test_module_monitor_only_by_batch_id(tmp_path):
    with FakeServer({}, monitor_views()) as server:
        out = module_result(tmp_path, {"batch_id": "schedd01.example.org#1234.0#1767000000", "computing_site": "SITE_B",
                                       "monitor_url": server.url, "monitor_token": "tok-123"})
        seen = list(server.seen)
    assert not out.get("failed"), out
    assert out["panda_ids"] == [3002]
    assert out["id_source"] == {"from": "batch_id"}
    assert out["sources_used"] == ["monitor"]
    assert all(entry[2].get("Authorization") == "Bearer tok-123" for entry in seen)
    assert "tok-123" not in json.dumps(out)


def test_module_monitor_only_follows_build_job(tmp_path):
    with FakeServer({}, monitor_views()) as server:
        out = module_result(tmp_path, {"panda_id": 2001, "monitor_url": server.url})
    assert not out.get("failed"), out
    assert out["jobs"][0]["source"] == "monitor"
    assert out["payload_urls"] == [SURL + "/cache/sources.6a1b2c3d-build.tar.gz"]
    assert out["build_job"]["PandaID"] == 2000


def test_module_pilotlog_with_two_ids_reports_both_and_warns(tmp_path):
    log = tmp_path / "pilotlog.txt"
    log.write_text(fixture("pilotlog_two_jobs.txt"))
    jobs = all_jobs()
    with FakeServer(jobs) as server:
        out = module_result(tmp_path, {"pilotlog": str(log), "panda_url": server.url, "validate_certs": False})
    assert out["panda_ids"] == [1001, 1004]
    assert [job["PandaID"] for job in out["jobs"]] == [1001]
    assert out["not_found"] == [1004]
    assert any("2 different PandaIDs" in w for w in out.get("warnings", []))


@pytest.mark.parametrize("args, message", [
    ({"panda_id": 1}, "no source of job records"),
    ({"batch_id": "x", "panda_url": "http://127.0.0.1:9"}, "batch_id needs monitor_url"),
    ({"panda_id": 1, "use_server": True}, "use_server=true needs panda_url"),
    ({"workdir": "/nonexistent/dir_1", "resolve_only": True}, "no PandaID"),
    ({"pilotlog": "/nonexistent/pilotlog.txt", "resolve_only": True}, "does not exist"),
    ({"panda_id": 1, "workdir": "/x/PanDA_Pilot-1"}, "mutually exclusive"),
])
def test_module_input_errors(tmp_path, args, message):
    out = module_result(tmp_path, args)
    assert out.get("failed"), out
    assert message in out["msg"]


def test_module_unknown_job_fails_naming_it(tmp_path):
    with FakeServer({}) as server:
        out = module_result(tmp_path, {"panda_id": 31337, "panda_url": server.url, "validate_certs": False})
    assert out.get("failed")
    assert "31337" in out["msg"] and "not found" in out["msg"]
