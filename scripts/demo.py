"""Driver of `make demo`: start the embedded lab, stage an incident, run playbooks/demo.yml, show the artefacts.

1. the lab: an Argus PAP hierarchy (central -> relay -> site, lab/gridsec_lab/argus/hierarchy.example.yml), the
   lab PanDA (API + BigPanDA-style monitor over its own tables, in the PostgreSQL that gridsec_lab.pg.admin_dsn
   finds: $GRIDSEC_PG_ADMIN_DSN, a local server, or a private throwaway cluster), the lab SMTP server
   (STARTTLS + AUTH) and the lab IAM (docs/lab-iam.md; its iam.json is passed as demo_iam_json);
2. a suspicious prun job submitted by "Alice Lab" (running), a second one queued, and the pilot directory the
   site found on its worker node "wn042.lab-site" (an inventory host; here a local connection);
3. ansible-playbook playbooks/demo.yml (incident -> propagation + canary check, which writes the HTML propagation
   report (argus_canary report_html) -> suspension list sync to the site PAP, the PanDA lab and a ban file, and a
   second sync of the central list plus the site's token list (the token act's user and his DN) to an HTCondor-CE
   map file and a dCache ban file -> same incident again -> unban -> propagation, syncs, and the HTML report of
   that state);
4. the token act: a job of the lab IAM's token user Jean-Luc McDonald (as panda-server records a token submission),
   gridsec.ops.incident with the IAM step (and the Rucio step when the real Rucio tier is installed: .tmp/rucio-real,
   which `make test` installs) -> the account inactive, its tokens gone from IAM's listing, the refresh grant refused,
   PanDA refusing the user -> gridsec.ops.unban restores it;
5. a short narrative and where the artefacts are (incident record, the mails as received, the canary report, the
   HTML reports, the ban file).

Needs only Python and the pinned requirements (no ../shared, no running PostgreSQL). Work directory:
$GRIDSEC_DEMO_WORKDIR or .tmp/demo (emptied at start).
"""
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "lab"))

from gridsec_lab import pg  # noqa: E402
from gridsec_lab import smtp as lab_smtp  # noqa: E402
from gridsec_lab.argus.lab import ArgusLab  # noqa: E402
from gridsec_lab.iam.lab import IamLab  # noqa: E402
from gridsec_lab.pki import TestPKI  # noqa: E402

WORK = os.path.abspath(os.environ.get("GRIDSEC_DEMO_WORKDIR") or os.path.join(ROOT, ".tmp", "demo"))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
INCIDENT_ID = "GRIDSEC-DEMO-001"
TOKEN_INCIDENT_ID = "GRIDSEC-DEMO-TOKEN"
# What panda-server 1.0.4 records as prodUserID for a job submitted with Jean-Luc McDonald's IAM token: the name
# claim with each word's tail lower-cased, and the preferred_username as nickname (ENFORCERS.md 2.1).
TOKEN_PRODUSERID = "Jean-luc Mcdonald/CN=nickname:jmcdonald"
TOKEN_PANDA_NAME = "Jean-luc Mcdonald"
# prun's job parameters: the user's command URL-encoded after -p, the code archive after -a.
SUSPECT_PARAMS = ('-j "" --sourceURL https://pandacache.lab.gridsec.test:25443 -r . -p "python3%20miner.py%20'
                  '--pool%3Dstratum%2Btcp%3A%2F%2Fpool.example%3A3333" -a jobO.5f0c2a1e-demo.tar.gz '
                  '--inDS user.alice.input')
SMTP_USER, SMTP_PASSWORD = "gridsec-ops", "demo-smtp-password"
CANARY_SALT = "demo-canary-salt"


def say(text):
    print("\n\033[1m== %s ==\033[0m" % text, flush=True)


def ensure_collection_link():
    link = os.path.join(COLLECTIONS, "ansible_collections", "gridsec", "ops")
    if not os.path.exists(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(ROOT, link)


def stage_panda(pki):
    from gridsec_lab import panda
    endpoint = panda.start(os.path.join(WORK, "panda"), pki, ban_cache_seconds=5)
    alice = endpoint.users["alice"]
    suspect = endpoint.submit_job(alice, jobParameters=SUSPECT_PARAMS, creationHost="ui04.lab.gridsec.test",
                                  computingSite="LAB_SITE", batchID="ce01.lab#4711.0#1700000000")
    endpoint.set_job_status(suspect, "running")
    queued = endpoint.submit_job(alice, jobParameters=SUSPECT_PARAMS, computingSite="LAB_SITE")
    # What the site found on the worker node: the pilot3 main dir, the job dir, and the pilot log.
    main_dir = os.path.join(WORK, "worker-wn042", "PanDA_Pilot3_31337_1700000000")
    pilot_dir = os.path.join(main_dir, "PanDA_Pilot-%d" % suspect)
    os.makedirs(pilot_dir, exist_ok=True)
    with open(os.path.join(main_dir, "pilotlog.txt"), "w") as handle:
        handle.write("2026-11-22 03:00:01,000 | INFO | pilot.control.job | retrieve | received job: %d\n" % suspect)
        handle.write("2026-11-22 03:00:02,000 | INFO | pilot.control.job | run | processing PanDA job %d from "
                     "task 0\n" % suspect)
    db = endpoint.db
    return endpoint, suspect, queued, pilot_dir, {
        "panda_url": endpoint.url, "panda_monitor_url": endpoint.monitor_url, "panda_ca_path": endpoint.ca_path,
        "panda_client_cert": endpoint.admin.cert, "panda_client_key": endpoint.admin.key,
        "panda_db_host": db.host, "panda_db_port": db.port, "panda_db_name": db.dbname, "panda_db_user": db.user,
    }


def run_playbook(vars_file, inventory, playbook=None):
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="default",
               ANSIBLE_CALLBACK_RESULT_FORMAT="yaml", ANSIBLE_LOCALHOST_WARNING="false",
               ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_RETRY_FILES_ENABLED="false",
               ANSIBLE_DISPLAY_SKIPPED_HOSTS="false", ANSIBLE_PYTHON_INTERPRETER=sys.executable)
    return subprocess.call([os.path.join(os.path.dirname(sys.executable), "ansible-playbook"), "-i", inventory,
                            playbook or os.path.join(ROOT, "playbooks", "demo.yml"), "-e", "@" + vars_file],
                           env=env, cwd=WORK)


def refresh_grant(iam, refresh_token):
    """(HTTP status, error) of a refresh grant at the lab IAM, as the user's client would send it."""
    cli = iam.clients["user"]
    data = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": refresh_token,
                                   "client_id": cli.client_id, "client_secret": cli.secret}).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(iam.url + "/token", data=data), timeout=10,
                                    context=iam.ssl_context()) as reply:
            return reply.status, ""
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read() or b"{}").get("error", "")


def start_rucio(pki):
    """The real Rucio tier when it is installed (never installed here: the demo must run offline), else None."""
    from gridsec_lab.rucio_real import installer, launcher
    if not installer.is_installed():
        print("Rucio act: not run, the real Rucio tier is not installed (%s; `make test` installs it)"
              % installer.default_home())
        return None
    return launcher.start(os.path.join(WORK, "rucio"), pki)


def rucio_account_for(rucio, pki, subject, issuer):
    """A Rucio USER account whose OIDC identity is the token user's (iss, sub), made through the REST API."""
    from gridsec_lab.rucio_real.rawclient import Raw
    raw = Raw(rucio.url, pki.ca_cert_path)
    status, token = raw.login_userpass("root", rucio.root_username, rucio.root_password)
    raw.expect((201,), "POST", "/accounts/jmcdonald", token=token, body={"type": "USER", "email": "jm@lab.invalid"})
    raw.expect((201,), "POST", "/accounts/jmcdonald/identities", token=token,
               body={"identity": "SUB=%s, ISS=%s" % (subject, issuer), "authtype": "OIDC", "email": "jm@lab.invalid"})
    return lambda: raw.account(token, "jmcdonald")["status"]


def token_act(pki, iam, panda_endpoint, base_vars, inventory):
    """Incident and unban for a token user (IAM + PanDA, and Rucio when installed); returns (rc, lines)."""
    say("Token act: Jean-Luc McDonald's IAM token")
    user = iam.users["jmcdonald"]
    tokens = [iam.token_for("jmcdonald") for _ in range(2)]
    store = panda_endpoint._store
    [panda_id] = store.submit_jobs(TOKEN_PRODUSERID, [{"prodSourceLabel": "user", "computingSite": "LAB_SITE",
                                                      "jobParameters": SUSPECT_PARAMS}])
    panda_endpoint.set_job_status(panda_id, "running")
    print("Staged: PanDA job %d submitted with a token (prodUserID %s); %d access and %d refresh tokens in IAM"
          % (panda_id, TOKEN_PRODUSERID, len(iam.tokens("jmcdonald", "access")), len(iam.tokens("jmcdonald", "refresh"))))
    token_vars = {k: v for k, v in base_vars.items() if not k.startswith(("incident_worker", "incident_pilot",
                                                                          "incident_strip"))}
    token_vars.update(incident_id=TOKEN_INCIDENT_ID, incident_panda_id=panda_id, incident_reason="stolen token",
                      iam_url=iam.url, iam_client_id=iam.admin.client_id, iam_client_secret=iam.admin.secret,
                      iam_ca_path=iam.ca_file)
    rucio = start_rucio(pki)
    rucio_status = None
    try:
        if rucio:
            rucio_status = rucio_account_for(rucio, pki, user.id, iam.issuer)
            token_vars.update(rucio_url=rucio.url, rucio_username=rucio.root_username,
                              rucio_password=rucio.root_password, rucio_ca_path=pki.ca_cert_path)
        vars_file = os.path.join(WORK, "vars-token.json")
        with open(vars_file, "w") as handle:
            json.dump(token_vars, handle, indent=2)
        if run_playbook(vars_file, inventory, "gridsec.ops.incident") != 0:
            return 1, []
        refused = refresh_grant(iam, tokens[0]["refresh_token"])
        lines = ["IAM account jmcdonald active: %s; tokens in IAM's listing: %d access, %d refresh"
                 % (iam.account("jmcdonald").active, len(iam.tokens("jmcdonald", "access")),
                    len(iam.tokens("jmcdonald", "refresh"))),
                 "refresh grant with the user's refresh token: HTTP %s %s" % refused,
                 "PanDA accepts a new job from %s: %s" % (TOKEN_PANDA_NAME, store.submit_jobs(TOKEN_PRODUSERID, [])
                                                          is not None)]
        if rucio_status:
            lines.append("Rucio account jmcdonald: %s" % rucio_status())
        for line in lines:
            print("  after the incident: " + line)
        if run_playbook(vars_file, inventory, "gridsec.ops.unban") != 0:
            return 1, lines
        after = ["IAM account jmcdonald active: %s" % iam.account("jmcdonald").active,
                 "PanDA accepts a new job from %s: %s" % (TOKEN_PANDA_NAME, store.submit_jobs(TOKEN_PRODUSERID, [])
                                                          is not None)]
        if rucio_status:
            after.append("Rucio account jmcdonald: %s" % rucio_status())
        for line in after:
            print("  after the unban: " + line)
        return 0, lines + after
    finally:
        if rucio:
            rucio.stop()


def write_token_list(path, iam, username):
    """The site's own suspension list: the token act's IAM user as a token identity, and his certificate DN."""
    user = iam.users[username]
    entries = [{"issuer": iam.issuer, "subject": user.id, "name": user.name, "reason": "stolen token",
                "ticket": "LAB-TICKET-2"},
               {"dn": user.certificate_dns_slash[0], "reason": "stolen token (same person)", "ticket": "LAB-TICKET-2"}]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump({"version": 1, "entries": entries}, handle, indent=2)  # JSON is YAML
    return {"demo_token_list": path, "demo_token_issuer": iam.issuer, "demo_token_subject": user.id,
            "demo_token_dn": user.certificate_dns_slash[0]}


def stage_ce_mapfiles(directory, issuer):
    """The CE's map-file directory as a site has it: a permissive token mapping in 10-scitokens.conf; the sync's
    00-gridsec-ban.conf sorts before it, so its bans are the first match."""
    os.makedirs(directory)
    with open(os.path.join(directory, "10-scitokens.conf"), "w") as handle:
        handle.write("# the site's token mapping: every token of the lab IAM maps to the atlas user\n"
                     "SCITOKENS /^%s\\/?,/ atlas@users.htcondor.org\n" % issuer.replace("/", "\\/").replace(".", "\\."))
    return os.path.join(directory, "00-gridsec-ban.conf")


def show_file_lines(label, path):
    """The lines the syncs wrote into a CE/SE file (the sync's block), as the viewer should see them."""
    print("  %s %s:" % (label, path))
    with open(path) as handle:
        for line in handle.read().splitlines():
            print("      " + line)


def seconds(value):
    """A short duration for the narrative."""
    return "%.1f s" % value if value < 60 else "%d min %d s" % divmod(int(value), 60)


def narrate(suspect, reports):
    with open(os.path.join(reports, "canary.json")) as handle:
        nodes = json.load(handle)["nodes"]
    with open(os.path.join(reports, "sync.json")) as handle:
        sync = json.load(handle)
    print("What happened:")
    print("  1. wn042's pilot directory named PanDA job %d; it was identified (submitter Alice Lab, payload "
          "jobO.5f0c2a1e-demo.tar.gz)," % suspect)
    print("     Alice Lab was banned in PanDA, her DN suspended on the central PAP, her jobs killed, the site and "
          "the CSIRT list mailed;")
    lag = max([n.get("lag_seconds") or 0 for n in nodes] or [0])
    refusing = [n["name"] for n in nodes if not n.get("effective_deny")]
    print("  2. the suspension reached the site PAP through the relay; canary check: %s; today's canary seen within "
          "%s of publication, %s;" % (", ".join("%s %s" % (n["name"], n["status"]) for n in nodes),
                                      seconds(lag),
                                      "denied everywhere" if not refusing else "NOT denied by " + ", ".join(refusing)))
    targets = []
    for target in sync["first"]:
        text = "%s +%d" % (target["name"], target.get("added_count") or 0)
        if target.get("manual_bans_kept"):
            text += " (%d ban set by hand, here by the incident, left to its owner)" % target["manual_bans_kept"]
        targets.append(text)
    print("  3. the central list (%d entries: Alice and today's canary) was synced to %s; a second sync wrote "
          "nothing;" % (sync["merged_count"], ", ".join(targets)))
    files = sync.get("files_first", [])
    print("     the central list plus the site's token list (%d entries: Jean-Luc McDonald's IAM token identity and "
          "his DN, Alice, the canary) were synced to %s;" % (sync.get("files_merged_count", 0), ", ".join(
              "%s +%d" % (t["name"], t.get("added_count") or 0) for t in files)))
    print("     after the unban (step 5) the CE map file and the dCache ban file hold the token user only:")
    show_file_lines("CE map file", os.path.join(WORK, "condor-ce", "mapfiles.d", "00-gridsec-ban.conf"))
    show_file_lines("dCache ban file", os.path.join(WORK, "dcache", "ban.conf"))
    print("  4. the same incident run again changed nothing and sent no mail;")
    print("  5. false positive: the ban and the suspension were lifted; that reached the site, and the next sync")
    print("     took the DN out of the site alias and the ban file;")
    print("  6. token act: Jean-Luc McDonald's IAM account was suspended and its tokens revoked (his refresh grant is")
    print("     refused), PanDA refuses his token name, his Rucio account (with the real Rucio tier) was suspended;")
    print("     the unban restored exactly that.")


def main():
    started = time.monotonic()
    shutil.rmtree(WORK, ignore_errors=True)
    os.makedirs(WORK)
    ensure_collection_link()
    pki = TestPKI(os.path.join(WORK, "pki"))
    say("Starting the embedded lab")
    admin_dsn = pg.admin_dsn()
    print("PostgreSQL %s" % admin_dsn)
    argus = ArgusLab(os.path.join(ROOT, "lab", "gridsec_lab", "argus", "hierarchy.example.yml"),
                     os.path.join(WORK, "argus"), poll_interval=1, pki=pki).start()
    panda_endpoint = mail = iam = None
    try:
        for name, info in argus.paps.items():
            print("Argus PAP  %-8s %s" % (name, info.url))
        iam = IamLab(os.path.join(WORK, "iam"), pki=pki).start()
        print("IAM        %s  (issuer %s, %s)" % (iam.url, iam.issuer, iam.json_path))
        panda_endpoint, suspect, queued, pilot_dir, panda_vars = stage_panda(pki)
        print("PanDA      %s  (monitor %s)" % (panda_endpoint.url, panda_endpoint.monitor_url))
        mail = lab_smtp.start(os.path.join(WORK, "smtp"), pki, users={SMTP_USER: SMTP_PASSWORD})
        print("SMTP       localhost:%d (STARTTLS, AUTH), mails in %s" % (mail.port, mail.maildir))
        print("Staged: Alice Lab's job %d runs at LAB_SITE (job %d queued); the site found %s on wn042"
              % (suspect, queued, os.path.relpath(pilot_dir, WORK)))

        admin = argus.creds["admin"]
        reports = os.path.join(WORK, "reports")
        os.makedirs(reports)
        ban_file = os.path.join(WORK, "banfiles", "ban_users.db")
        os.makedirs(os.path.dirname(ban_file))
        demo_vars = {
            "incident_id": INCIDENT_ID, "incident_worker": "wn042.lab-site", "incident_pilot_dir": pilot_dir,
            "incident_reason": "crypto-currency mining found by the site", "incident_ticket": "LAB-TICKET-1",
            "incident_site_name": "LAB-SITE", "incident_pilot_dn": "/DC=test/DC=gridsec-lab/OU=Robots/CN=pilot factory",
            "incident_record_dir": os.path.join(WORK, "incidents"),
            # the lab submits through RFC 3820 proxies: the job's DN ends in the proxy serial, which is removed
            "incident_strip_proxy_rdns": "all",
            "central_pap_host": "localhost", "central_pap_port": argus.paps["central"].port,
            "argus_paps": {name: {"port": info.port} for name, info in argus.paps.items()},
            "argus_ca_path": argus.ca_dir, "argus_client_cert": admin.cert, "argus_client_key": admin.key,
            "incident_smtp_host": "localhost", "incident_smtp_port": mail.port, "incident_smtp_security": "starttls",
            "incident_smtp_ca_path": mail.ca_file, "incident_smtp_username": SMTP_USER,
            "incident_smtp_password": SMTP_PASSWORD, "incident_mail_from": "Lab CSIRT <csirt@lab.gridsec.test>",
            "incident_site_contacts": ["security@lab-site.gridsec.test"],
            "incident_csirt_contacts": ["csirt-list@lab.gridsec.test"],
            "canary_salt": CANARY_SALT,
            "canary_endpoints": [{"name": name, "host": "localhost", "port": info.port}
                                 for name, info in argus.paps.items()],
            "demo_reports_dir": reports, "demo_ban_file": ban_file,
            "demo_sync_state_dir": os.path.join(WORK, "sync"),
            "demo_iam_json": iam.json_path,
            "demo_ce_mapfile": stage_ce_mapfiles(os.path.join(WORK, "condor-ce", "mapfiles.d"), iam.issuer),
            "demo_dcache_banfile": os.path.join(WORK, "dcache", "ban.conf"),
        }
        demo_vars.update(write_token_list(os.path.join(WORK, "lists", "site-tokens.yml"), iam, "jmcdonald"))
        os.makedirs(os.path.dirname(demo_vars["demo_dcache_banfile"]))
        demo_vars.update(panda_vars)
        vars_file = os.path.join(WORK, "vars.json")
        with open(vars_file, "w") as handle:
            json.dump(demo_vars, handle, indent=2)
        inventory = os.path.join(WORK, "inventory.ini")
        with open(inventory, "w") as handle:
            handle.write("localhost ansible_connection=local\n[worker_nodes]\n"
                         "wn042.lab-site ansible_connection=local\n")

        say("Running playbooks/demo.yml")
        rc = run_playbook(vars_file, inventory)
        if rc == 0:
            rc = token_act(pki, iam, panda_endpoint, demo_vars, inventory)[0]
        received = mail.messages()
        say("Demo %s in %.0f s" % ("finished" if rc == 0 else "FAILED", time.monotonic() - started))
        if rc == 0:
            narrate(suspect, reports)
        print("Artefacts:")
        artefacts = [("incident record", os.path.join(WORK, "incidents", INCIDENT_ID + ".json"), ""),
                     ("incident record", os.path.join(WORK, "incidents", TOKEN_INCIDENT_ID + ".json"), "token act")]
        artefacts += [("mail", os.path.join(mail.maildir, message.file), message.message["Subject"])
                      for message in received]
        artefacts += [("canary report", os.path.join(reports, "canary.json"), "argus_canary result"),
                      ("HTML report", os.path.join(reports, "propagation.html"),
                       "written by argus_canary report_html; open it in a browser"),
                      ("HTML report", os.path.join(reports, "after-unban.html"), "the same check after the unban"),
                      ("ban file", ban_file, "LCAS ban_users.db written by suspension_list_sync"),
                      ("CE map file", demo_vars["demo_ce_mapfile"], "HTCondor-CE map file (htcondor_ce target)"),
                      ("dCache ban file", demo_vars["demo_dcache_banfile"], "gPlazma ban file (dcache target)"),
                      ("site token list", demo_vars["demo_token_list"], "the site's list with the token user"),
                      ("sync audit log", os.path.join(WORK, "sync", "lab-site.audit.jsonl"), "")]
        for label, path, note in artefacts:
            if not os.path.exists(path):
                note = "not written: the demo stopped before"
            print("  %-16s %s%s" % (label, path, "  " + note if note else ""))
        print("  %-16s %s (emptied by the next run)" % ("lab work dir", WORK))
        return rc
    finally:
        if mail:
            mail.stop()
        if panda_endpoint:
            panda_endpoint.stop()
        if iam:
            iam.stop()
        argus.stop()


if __name__ == "__main__":
    sys.exit(main())
