# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Helpers shared by the hardening suites (test_faults, test_secrets, test_concurrency, test_hostile_input).

``run_tasks`` writes a playbook into tmp_path (one task per module with its options, the connection options through
the action group's module_defaults, each result copied to a JSON file) and runs ansible-playbook on it; it returns
the CompletedProcess (stdout, stderr) with ``.results[host]`` = the task results. ``run_module``: one task on
localhost, its result.
"""
import json
import os
import random
import string
import subprocess
import sys


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
ANSIBLE_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
XACML_NS = "urn:oasis:names:tc:xacml:2.0:policy:schema:os"
SUBJECT_ID = "urn:oasis:names:tc:xacml:1.0:subject:subject-id"

GROUP = {"argus": "group/gridsec.ops.argus", "panda": "group/gridsec.ops.panda"}


def letters(n=6):
    return "".join(random.choice(string.ascii_lowercase) for _ in range(n))


def ansible_env(tmp_path, **extra):
    env = dict(os.environ)
    env.update(ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_HOST_KEY_CHECKING="False",
               ANSIBLE_RETRY_FILES_ENABLED="False", ANSIBLE_NOCOLOR="1",
               ANSIBLE_LOCAL_TEMP=str(tmp_path / "ansible-local"), ANSIBLE_HOME=str(tmp_path / "ansible-home"))
    env.update(extra)
    return env


def write_playbook(tmp_path, tasks_spec, group, check=False, results_dir=None, record=None, host_args=None,
                   strategy=None):
    """One task per ``(module, args)`` in ``tasks_spec``: ``gridsec.ops.<module>`` with its options (taken from the
    extra var ``margs<i>``, so values are not templated twice), the connection ``conn`` as module_defaults of
    ``group``; each result is kept as ``results_dir/<host>-<i>.json``. ``record``: path of an incident record that
    a last ``incident_record`` task writes with every task's registered result as an action (as the incident
    playbooks do). ``host_args``: options added to every task as Jinja expressions (e.g. ``{"pap_port":
    "{{ fault_port }}"}`` with a host variable per host of the inventory)."""
    tasks = []
    for index, (module, args) in enumerate(tasks_spec):
        task = {"name": "module under test %d" % index,
                "gridsec.ops." + module: dict([(k, "{{ margs%d[%s] }}" % (index, json.dumps(k))) for k in args]
                                              + list((host_args or {}).items())),
                "register": "result%d" % index, "ignore_errors": True}
        if check:
            task["check_mode"] = True
        tasks.append(task)
        if results_dir:
            tasks.append({"name": "keep the result %d" % index, "ansible.builtin.copy": {
                "content": "{{ result%d | to_json }}" % index,
                "dest": "%s/{{ inventory_hostname }}-%d.json" % (results_dir, index), "mode": "0600"},
                "check_mode": False, "diff": False})
    if record:
        actions = "[%s]" % ", ".join(
            "{'name': 'task %d', 'status': ('failed' if result%d.failed | default(false) else 'ok'), "
            "'result': result%d}" % (i, i, i) for i in range(len(tasks_spec)))
        tasks.append({"name": "record the run", "gridsec.ops.incident_record": {
            "path": record, "incident": "HARDENING-SECRETS", "summary": {"what": "secrets test"},
            "actions": "{{ %s }}" % actions}})
    play = [{"name": "hardening", "hosts": "all", "gather_facts": False,
             "module_defaults": {GROUP[group]: "{{ conn }}"}, "tasks": tasks}]
    if strategy:
        play[0]["strategy"] = strategy
    path = tmp_path / ("play-%s.yml" % letters())
    path.write_text(json.dumps(play))
    return path


def run_tasks(tmp_path, tasks_spec, conn, group, *, check=False, verbose=None, timeout=300, inventory=None,
              extra_args=(), extravars=None, record=None, host_args=None, strategy=None):
    """Run the tasks; returns the CompletedProcess with ``.results[host] = [result of task i, ...]``."""
    results_dir = tmp_path / ("results-%s" % letters())
    results_dir.mkdir()
    playbook = write_playbook(tmp_path, tasks_spec, group, check=check, results_dir=results_dir, record=record,
                              host_args=host_args, strategy=strategy)
    vars_file = tmp_path / ("vars-%s.json" % letters())
    variables = dict(("margs%d" % i, args) for i, (_m, args) in enumerate(tasks_spec))
    variables["conn"] = conn
    variables.update(extravars or {})
    vars_file.write_text(json.dumps(variables))
    cmd = [ANSIBLE_PLAYBOOK]
    cmd += ["-i", inventory] if inventory else ["-i", "localhost,", "-c", "local"]
    cmd += ["-e", "ansible_python_interpreter=%s" % sys.executable, "-e", "@%s" % vars_file, str(playbook)]
    if verbose:
        cmd.append("-" + "v" * verbose)
    cmd += list(extra_args)
    proc = subprocess.run(cmd, env=ansible_env(tmp_path), capture_output=True, text=True, timeout=timeout,
                          check=False)
    results = {}
    for path in sorted(results_dir.glob("*.json")):
        host, index = path.stem.rsplit("-", 1)
        results.setdefault(host, {})[int(index)] = json.loads(path.read_text())
    proc.results = dict((host, [by_index.get(i) for i in range(len(tasks_spec))])
                        for host, by_index in results.items())
    if not results and (inventory is None or not verbose):
        raise AssertionError("ansible-playbook kept no result (rc %d):\n%s\n%s" % (proc.returncode,
                                                                                 proc.stdout[-5000:],
                                                                                 proc.stderr[-5000:]))
    return proc


def local_inventory(tmp_path, hostvars):
    """An inventory file of local hosts: ``hostvars`` = {host: {var: value}}."""
    path = tmp_path / ("inventory-%s.json" % letters())
    path.write_text(json.dumps({"all": {"hosts": dict(
        (host, dict({"ansible_connection": "local", "ansible_python_interpreter": sys.executable}, **variables))
        for host, variables in hostvars.items())}}))
    return str(path)


def run_module(tmp_path, module, args, conn, group, **kwargs):
    """One module on localhost: its result (dict)."""
    return run_tasks(tmp_path, [(module, args)], conn, group, **kwargs).results["localhost"][0]


def argus_conn(lab, port, cred="admin", **extra):
    credential = lab.creds[cred]
    out = {"pap_host": "localhost", "pap_port": port, "pap_path": "/pap/services", "client_cert": credential.cert,
           "client_key": credential.key, "ca_path": lab.ca_dir}
    out.update(extra)
    return out


def pap_rules(lab, pap, alias="default"):
    """The rules stored by ``pap`` (listPolicies through the lab's independent raw client):
    [(effect, ((attribute id, value), ...))] in order."""
    from gridsec_lab.argus import rawclient
    root = rawclient.call(pap.service("XACMLPolicyManagementService"), "listPolicies", [("papAlias", alias)],
                          cred=lab.creds["admin"], ca_dir=lab.ca_dir)
    rules = []
    for rule in root.iter("{%s}Rule" % XACML_NS):
        attrs = []
        for match in rule.iter("{%s}SubjectMatch" % XACML_NS):
            value = match.find("{%s}AttributeValue" % XACML_NS)
            designator = match.find("{%s}SubjectAttributeDesignator" % XACML_NS)
            attrs.append((designator.get("AttributeId"), value.text))
        rules.append((rule.get("Effect"), tuple(attrs)))
    return rules


def raw_ban(lab, pap, value, attribute="subject"):
    """A ban through the HL service by another writer (the lab's raw client, not the collection)."""
    from gridsec_lab.argus import rawclient
    rawclient.call(pap.service("HighLevelPolicyManagementService"), "ban",
                   [("alias", "default"), ("id", attribute), ("value", value), ("resource", ".*"),
                    ("action", ".*"), ("isPublic", "true")], cred=lab.creds["admin"], ca_dir=lab.ca_dir)


def banned_values(rules):
    return sorted(attrs[0][1] for effect, attrs in rules if effect == "Deny" and len(attrs) == 1)
