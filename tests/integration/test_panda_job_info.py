# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""panda_job_info against the lab PanDA and a real panda-server 1.0.4 (``panda_endpoint`` fixture).

pytest submits the jobs a site would ask about through the server's own submission path, then runs
tests/integration/playbooks/panda_job_info.yml, which identifies them from a PanDA id, a pilot work directory,
a pilot log and a batch id, and asserts what the operator is told: who submitted, from where, and the payload URL.
"""
import pytest

from test_panda_modules import conn, new_user, run_playbook

CACHE = "https://pandacache.lab.gridsec.test:25443"


@pytest.fixture
def pki(panda_endpoint):
    from gridsec_lab.pki import TestPKI
    import os
    return TestPKI(os.path.dirname(os.path.dirname(os.path.dirname(panda_endpoint.admin.cert))))


def test_prun_job_payload_and_submitter(panda_endpoint, pki, tmp_path):
    ep = panda_endpoint
    cred, name = new_user(pki, "Info Prun")
    params = '-j "" --sourceURL %s -r . -p "run.sh" -a jobO.1f2e3d4c-info.tar.gz' % CACHE
    job_id = ep.submit_job(cred, jobParameters=params, computingSite="LAB_SITE", creationHost="ui07.lab.gridsec.test")
    run_playbook("panda_job_info.yml", {
        "conn": conn(ep), "job_id": job_id, "missing_id": 987654321, "workdir_base": str(tmp_path / "wn"),
        "monitor_url": ep.monitor_url, "expected_user": name, "expected_dn": cred.dn, "expected_site": "LAB_SITE",
        "expected_payload_urls": [CACHE + "/cache/jobO.1f2e3d4c-info.tar.gz"],
    }, tmp_path)


def test_run_job_payload_comes_from_its_build_job(panda_endpoint, pki, tmp_path):
    ep = panda_endpoint
    cred, name = new_user(pki, "Info Build")
    task = ep.create_task(cred)
    build = ep.submit_job(cred, prodSourceLabel="panda", jediTaskID=task, computingSite="LAB_SITE",
                          jobParameters="-i sources.9a8b7c6d-info.tar.gz -o user.%s.lib.tgz --sourceURL %s"
                          % (name.replace(" ", ""), CACHE))
    run = ep.submit_job(cred, jediTaskID=task, computingSite="LAB_SITE",
                        jobParameters='-l user.%s.lib.tgz -r . -j "" -p "run.sh"' % name.replace(" ", ""))
    assert build != run
    run_playbook("panda_job_info.yml", {
        "conn": conn(ep), "job_id": run, "missing_id": 987654321, "workdir_base": str(tmp_path / "wn"),
        "expected_user": name, "expected_payload_urls": [CACHE + "/cache/sources.9a8b7c6d-info.tar.gz"],
    }, tmp_path)
