#!/usr/bin/python
# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: suspension_list_sync
short_description: Sync one emergency suspension list to Argus PAPs, PanDA and ban files, with safety rails
version_added: 0.1.0
description:
  - Reads one or several suspension lists (O(sources)), merges them deterministically (DNs compared semantically,
    duplicates collapse with their metadata kept), drops expired and protected entries, checks the result against
    the last good list, then brings every target (O(targets)) to exactly that list.
  - "Sources: an Argus PAP over SOAP (deny rules on a single subject DN or FQAN of all or the named aliases,
    local and cached remote; compound rules are reported, not imported); a YAML (or JSON) list read from a file
    or fetched over HTTPS and validated against the collection's JSON Schema (C(meta/suspension-list.schema.json);
    a schema error rejects the whole source); a plain list (one DN per line, C(fqan:) prefix for FQANs, C(#)
    comments)."
  - "Target C(argus): the entries live in one resource PolicySet and one action Policy owned by this sync,
    recognised by their description C(gridsec.ops suspension_list_sync: <name>). The first sync writes them with
    C(addPolicySet) + C(addPolicies) at index 0 (2 write calls whatever the size); a change of any number of
    entries is one version-checked C(updatePolicy) of the owned Policy, retried after a re-read on a version
    conflict (O(max_retries)). Site-owned objects are never written. The owned PolicySet is kept in front of every
    policy with Permit rules in the alias (first-applicable evaluation) and the result says so in
    C(placement) of RV(targets). A subject DN is stored as exactly the literal the PAP itself stores when given the
    slash form (argus-pap C(AttributeWizard) with canl C(opensslToRfc2253): only C(,) escaped), as
    M(gridsec.ops.argus_policy) and C(pap-admin ban) store it; rules written by earlier versions with full RFC 4514
    escapes are rewritten in the same C(updatePolicy) (C(rewritten) in RV(targets))."
  - "Target C(panda): bans the PanDA users behind suspended DNs (C(users.status='disabled'); user name from the DN
    with the server's C(clean_user_id)), in one database transaction; optionally kills the active jobs
    (O(targets[].kill_jobs)) and tasks (O(targets[].kill_tasks)) of newly banned users. Only bans made by this
    sync (recorded in the state file) are ever lifted."
  - "Target C(file): LCAS C(ban_users.db), dCache gPlazma ban file, plain DN list, or a line template; written
    atomically (temporary file and rename in the same directory) and only when its content or mode/owner differ."
  - The results and the audit log carry counts and the changed entries, never the whole list unless
    O(return_list=true).
author:
  - gridsec.ops maintainers (@gridsec)
requirements:
  - Python library C(lxml) with an Argus source or target (SOAP messages to the PAP)
  - Python library C(PyYAML) with a YAML source (also a dependency of ansible-core)
  - Python library C(psycopg) (version 3, O(db_backend=postgresql)) or C(oracledb) (O(db_backend=oracle))
    with a PanDA target
  - Python library C(cryptography), optional (it reads the DN of the credential; without it the check of the
    credential's write permissions against an Argus target's ACL in check mode is skipped)
extends_documentation_fragment:
  - gridsec.ops._sync_targets
  - gridsec.ops._argus
  - gridsec.ops._panda
  - gridsec.ops._panda_db
  - gridsec.ops._tls
  - gridsec.ops._attributes
attributes:
  check_mode:
    support: full
    details:
      - Sources and targets are read, nothing is written to any target or to the state file; the predicted
        added/removed entries and the write calls that would be issued are returned per target. The audit log
        records the predicted changes with C(check_mode=true).
  diff_mode:
    support: full
    details:
      - One diff per target, showing the entries that are added and removed (not the whole list).
  idempotent:
    support: full
    details:
      - A second run with an unchanged list reads each source and each target once and writes nothing.
  action_group:
    description: Use C(group/gridsec.ops.argus) or C(group/gridsec.ops.panda) in C(module_defaults) to set the
      connection options once.
    support: full
    membership:
      - gridsec.ops.argus
      - gridsec.ops.panda
options:
  name:
    description:
      - Name of this sync. It names the state file and the audit log, and it is written in the description of the
        Argus objects and in the header of ban files, so that two syncs on the same PAP never touch each other's
        objects.
      - Letters, digits, C(.), C(_) and C(-).
    type: str
    required: true
  sources:
    description:
      - The lists to merge, in order (the first source that has a value or metadata for an identity wins, except
        C(added) which keeps the earliest and C(expires) which keeps the latest; an entry without C(expires) in any
        source never expires).
      - Connection options not given in a source (C(pap_host), TLS options ...) are taken from the module-level
        options of the same name.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the source in results, errors and the audit log (unique).
        type: str
        required: true
      type:
        description: Kind of source.
        type: str
        required: true
        choices: [argus, yaml, plain]
      path:
        description: File to read (C(yaml), C(plain)).
        type: path
      url:
        description: HTTPS URL to fetch (C(yaml), C(plain)), with the TLS options.
        type: str
      aliases:
        description:
          - PAP aliases to read (C(argus)); default all aliases of the PAP (C(getAllPaps)).
        type: list
        elements: str
      on_source_failure:
        description:
          - What to do when the source cannot be read or is invalid. V(fail) fails the run before any target is
            touched; V(use_cache) uses the entries this source gave in the last good run (and fails when there is
            none, or when it is older than O(sources[].cache_max_age)). Using the cache warns, is listed in
            RV(sources) (C(status=cached), C(cache_age), C(last_read_ok)) and writes a C(use_cache) line to the audit
            log.
        type: str
        choices: [fail, use_cache]
        default: fail
      cache_max_age:
        description:
          - With O(sources[].on_source_failure=use_cache) - the oldest cached list that may stand in for a failed
            source, counted from the last run that read the source successfully. A source that has been failing
            for longer fails the run (no target touched), so that a dead list source cannot keep a cron job green.
          - A number with a unit C(s), C(m), C(h), C(d) or C(w) (C(30m), C(24h), C(2d)); a bare number is seconds.
        type: str
        default: 24h
      allow_empty:
        description:
          - Accept an empty list from this source. By default an empty source is refused (the run fails, targets
            untouched), since an empty list usually means a broken export rather than "nobody is suspended".
        type: bool
        default: false
      require_signature:
        description:
          - Accept this C(yaml) source only as a signed list published by M(gridsec.ops.suspension_list_publish)
            (O(sources[].path) or O(sources[].url) is the document, its detached signature is next to it).
          - "Refused, with the reason in the error and the audit log, and the last good list kept in force: a
            signature that does not verify, a chain that does not lead to a CA of O(sources[].ca_path) (the grid CA
            directory), a signer not in O(sources[].trusted_signers), an expired list, a serial lower than the last
            one this sync applied (rollback) or the same serial with other content."
          - The serial, issue and expiry times and the signer are reported under C(signed) in RV(sources) and kept in
            the state.
        type: bool
        default: false
      trusted_signers:
        description:
          - With O(sources[].require_signature) - the DNs (slash or comma form, compared semantically) whose
            signature is accepted. Required then.
        type: list
        elements: str
        default: []
      signature_path:
        description: The signature file of a signed list; O(sources[].path) with C(.sig) appended when not set.
        type: path
      signature_url:
        description: The signature URL of a signed list; O(sources[].url) with C(.sig) appended when not set.
        type: str
      pap_host:
        description: PAP host of an C(argus) source (default O(pap_host)).
        type: str
      pap_port:
        description: PAP port of an C(argus) source (default O(pap_port)).
        type: int
      pap_path:
        description: PAP services path of an C(argus) source (default O(pap_path)).
        type: str
      client_cert:
        description: Client certificate for this source (default O(client_cert)).
        type: path
      client_key:
        description: Client key for this source (default O(client_key)).
        type: path
      proxy_file:
        description: Proxy file for this source (default O(proxy_file)).
        type: path
      ca_path:
        description: CA file or hashed CA directory for this source (default O(ca_path)).
        type: path
      validate_certs:
        description: Verify the server certificate of this source (default O(validate_certs)).
        type: bool
      timeout:
        description: Timeout in seconds for this source (default O(timeout)).
        type: float
      retries:
        description: Connection retries for this source (default O(retries)).
        type: int
  allow_list:
    description:
      - Protected identities (DNs in any form, or FQANs) that are never suspended, for example the site's own
        administrators and service DNs. A listed entry is dropped from the merged list and reported in
        RV(protected) and the audit log.
    type: list
    elements: str
    default: []
  allow_patterns:
    description:
      - Regular expressions (Python C(re.search)) of protected identities, matched against the slash form and the
        RFC 2253 form of each DN, and against each FQAN.
    type: list
    elements: str
    default: []
  allow_override:
    description:
      - Entries that are suspended even though O(allow_list) or O(allow_patterns) protect them (an explicit,
        per-entry decision of the operator). Each use is returned in RV(overridden) and recorded in the audit log.
    type: list
    elements: str
    default: []
  max_shrink_count:
    description:
      - Refuse to apply (the run fails, targets untouched) when the merged list would drop more than this number of
        entries of the last good list. Expired entries do not count. Unset means no count limit.
    type: int
  max_shrink_fraction:
    description:
      - Refuse to apply when the merged list would drop more than this fraction (0 to 1) of the last good list.
        Expired entries do not count. V(1) switches the check off.
    type: float
    default: 0.25
  state_dir:
    description:
      - Directory of the state file C(<name>.state.json) (mode 0600; the last good merged list, the digest of each
        source's last good read, the PanDA bans this sync owns), of the source cache C(<name>.cache.json) (mode 0600;
        the last good entries of each source) and, by default, of the audit log.
    type: path
    default: /var/lib/gridsec-suspension-sync
  audit_log:
    description:
      - JSON-lines audit log (created with mode 0600), one line per change. Default C(<state_dir>/<name>.audit.jsonl).
    type: path
  return_list:
    description:
      - Return the whole merged list in RV(list). Off by default, since the list is access-controlled data.
    type: bool
    default: false
  max_retries:
    description:
      - Argus targets - how many times a version conflict (another writer changed the owned policy between the read
        and the write) is retried after a re-read.
    type: int
    default: 3
  resolve_tokens:
    description:
      - Expand every DN entry of the merged list to the token identities of the same person through an INDIGO IAM
        (docs/sync-targets.md), so that the targets ban both. For each DN, IAM's finder by certificate subject is
        asked with the RFC 2253 form; the DNs it does not find are compared semantically with the certificate
        subjects of every account, read in one paged listing per run (O(resolve_tokens[].dn_scan)). Each account
        found gives the token identity C((issuer, account UUID)) (IAM's issuer is O(resolve_tokens[].iam_issuer),
        else O(resolve_tokens[].iam_url)), with the DN entry's metadata, the account's name (C(name), from which the
        C(panda) target derives the token user's PanDA name) and C(derived_from) (the DN).
      - A DN on no account is reported (C(no_account)), not an error. A DN linked to several accounts suspends
        all of them, with a warning (C(ambiguous)). The allow-list applies to derived identities too; a protected
        DN is not expanded; the daily canary is not expanded.
      - Only reads are sent to IAM (scopes C(scim:read iam:admin.read)). The result is in RV(resolve_tokens);
        a newly derived identity is recorded in the audit log (C(derive)).
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the resolver in results, the audit log and the state (unique).
        type: str
        required: true
      type:
        description: Where identities are resolved. V(iam) - an INDIGO IAM instance.
        type: str
        choices: [iam]
        default: iam
      iam_url:
        description: IAM's base URL (https).
        type: str
        required: true
      iam_issuer:
        description: IAM's issuer as configured, when it differs from O(resolve_tokens[].iam_url) (the C(iss) of the derived identities).
        type: str
      client_id:
        description: Client id of an IAM client registered for the C(scim:read) and C(iam:admin.read) scopes.
        type: str
      client_secret:
        description: Its client secret; never in results, state or the audit log.
        type: str
      bearer_token:
        description: An access token with those scopes, used as given (instead of O(resolve_tokens[].client_id)).
        type: str
      dn_scan:
        description:
          - Compare the DNs the finder does not find with the certificate subjects of every account (one paged read
            of C(/scim/Users) per run), which finds a DN stored in another spelling. V(false) asks the finder only.
        type: bool
        default: true
      on_failure:
        description:
          - When IAM cannot be read. V(fail) fails the run before any target is touched. V(use_cache) uses the DN to
            token mapping of the last successful resolution (kept in the state file), when it is not older than
            O(resolve_tokens[].cache_max_age); the use is warned about, returned (C(status=cached)) and audited.
        type: str
        choices: [fail, use_cache]
        default: fail
      cache_max_age:
        description:
          - With O(resolve_tokens[].on_failure=use_cache), the oldest resolution that may stand in (C(30m), C(24h), C(2d)).
          - The time of the last resolution is recorded again only when the mapping changed or after a quarter of this
            age, so that a run that changes nothing writes nothing; the recorded time may therefore be up to a quarter
            of it older than the last successful resolution (the cache is refused early rather than late).
        type: str
        default: 24h
      client_cert:
        description: Client certificate sent to IAM (default O(client_cert)).
        type: path
      client_key:
        description: Client key (default O(client_key)).
        type: path
      proxy_file:
        description: Proxy file (default O(proxy_file)).
        type: path
      ca_path:
        description: CA file or hashed CA directory that verifies IAM (default O(ca_path)).
        type: path
      validate_certs:
        description: Verify IAM's certificate (default O(validate_certs)).
        type: bool
      timeout:
        description: Timeout in seconds (default O(timeout)).
        type: float
      retries:
        description: Connection retries (default O(retries)).
        type: int
notes:
  - Each target of O(targets) reports its own before/after counts, changed entries and operations in RV(targets).
    A failure on one target does not stop the others; the run fails at the end naming every failed target, and a
    failed target is left as it was (one version-checked write, one transaction, one rename).
  - The connection options O(pap_host), O(pap_port), O(pap_path), O(panda_url), the C(db_*) options and the TLS
    options are the defaults of every source and target; a source or target may override each of them. Put the
    common values in C(module_defaults) (C(group/gridsec.ops.argus) or C(group/gridsec.ops.panda)).
  - The owned Argus PolicySet matches every resource with the regular expression C((.*)) rather than C(.*), so that
    the PAP's high-level C(ban)/C(unban) (C(pap-admin ban), M(gridsec.ops.argus_policy)) never write into it and
    manual bans on the same alias are kept apart from the synced ones.
  - Within the alias the owned policy is evaluated first (index 0 of the root PolicySet, first-applicable). Across
    aliases the PAP order decides (the PDP gets the PAPs' trees in PAP order under a first-applicable root) - sync
    into the alias that comes first, or put the upstream PAP before C(default).
  - See C(docs/suspension-sync.md) in the collection for the list schema, the audit format and how a site or a
    relay runs it.
seealso:
  - module: gridsec.ops.argus_policy
  - module: gridsec.ops.panda_user_ban
  - module: gridsec.ops.panda_job_kill
"""

EXAMPLES = r"""
- name: Central list to the site PAP, PanDA and an LCAS ban file
  gridsec.ops.suspension_list_sync:
    name: egi-central
    sources:
      - name: central
        type: argus
        pap_host: lcg-argus.cern.ch
        aliases: [default]
        on_source_failure: use_cache
      - name: local-extra
        type: yaml
        path: /etc/gridsec/local-suspensions.yml
        allow_empty: true
    targets:
      - name: site-pap
        type: argus
        pap_host: argus.example.org
      - name: lcas
        type: file
        format: lcas
        path: /etc/lcas/ban_users.db
        mode: "0644"
    allow_list:
      - /DC=org/DC=example/OU=Admins/CN=Site Admin
    allow_patterns:
      - "^/DC=org/DC=example/OU=Services/"
    client_cert: /etc/grid-security/hostcert.pem
    client_key: /etc/grid-security/hostkey.pem

- name: YAML list over HTTPS to PanDA (ban and kill the jobs of newly banned users)
  gridsec.ops.suspension_list_sync:
    name: vo-list
    sources:
      - name: vo
        type: yaml
        url: https://lists.example.org/suspended.yml
    targets:
      - name: panda
        type: panda
        kill_jobs: true
        panda_url: https://pandaserver.example.org:25443
    db_host: pandadb.example.org
    db_name: panda
    db_user: panda
    db_password: "{{ vault_panda_db_password }}"

- name: A VO's list to its IAM and a site's token enforcers, the DNs expanded to their token identities
  gridsec.ops.suspension_list_sync:
    name: vo-tokens
    sources:
      - name: vo
        type: yaml
        url: https://lists.example.org/suspended.yml
    resolve_tokens:
      - name: vo-iam
        iam_url: https://iam.example.org
        client_id: gridsec-reader
        client_secret: "{{ vault_iam_reader_secret }}"
    targets:
      - name: vo-iam
        type: iam
        iam_url: https://iam.example.org
        client_id: gridsec-admin
        client_secret: "{{ vault_iam_admin_secret }}"
      - name: ce
        type: htcondor_ce
        mode: "0644"
        reload_command: [condor_ce_reconfig]
"""

RETURN = r"""
changed:
  description: Whether any target changed (or would change, in check mode).
  returned: always
  type: bool
merged_count:
  description: Number of entries in the merged list that was applied (after expiry and the allow-list).
  returned: always
  type: int
merge:
  description:
    - C(merged) when the sources were merged again; C(unchanged) when the merged list of the last good run was applied as
      it stands, because every source returned the same bytes as then (a signed list still verified), the allow-list
      and overrides are the same and no entry of that list has expired since (nothing was parsed or merged again).
  returned: when the sources were read
  type: str
  sample: unchanged
sources:
  description:
    - Per source - name, type, status (V(ok), V(cached)), number of entries, error when it failed; a cached source adds
      C(last_read_ok) (UTC), C(cache_age) (text) and C(cache_age_seconds).
    - A signed source (O(sources[].require_signature)) adds C(signed) - C(serial), C(issued), C(expires), C(signer)
      and C(sha256) of the document accepted.
  returned: always
  type: list
  elements: dict
targets:
  description:
    - Per target - name, type, changed, before/after/added/removed/kept counts, the added and removed entries,
      the write calls issued (or planned in check mode) in C(planned)/C(operations), C(reads) and C(writes) counts;
      Argus targets add C(placement) (C(root_index), C(evaluated_before_site_permits), C(permits_before)) and
      C(attempts) / C(conflicts); PanDA targets add C(outcomes) per user (V(done), V(would_ban), V(similar_name) ...),
      C(manual_bans_kept), C(kills) (jobs and tasks per newly banned user) and C(problems); file targets add
      C(path), C(format), C(mode). A failed target has C(failed=true) and C(error).
    - Every target has C(canary) - C(mode) (V(keep) or V(skip)) and C(entries), the canary DNs of the merged list
      that this target kept or skipped.
    - A target that does not enforce some entry kinds of the merged list has C(not_applicable) - C(count) and
      C(entries) (kind, value) of the entries it was not given (never dropped silently).
    - Argus targets have C(rewritten) / C(rewritten_count) - kept entries whose rule held another literal than the
      one a PAP stores for the slash form (as an earlier version wrote them, with full RFC 4514 escapes), rewritten in
      the same C(updatePolicy); C(stored) is the old literal.
  returned: always
  type: list
  elements: dict
resolve_tokens:
  description:
    - Per O(resolve_tokens) item - C(name), C(type), C(status) (V(ok), V(cached)), C(dns) (DN entries looked up),
      C(reads) (calls sent to IAM), C(derived) (C(dn), C(issuer), C(subject), C(username), C(name) of each token
      identity added to the list) and C(derived_count), C(no_account) (DNs on no account) and C(no_account_count),
      C(ambiguous) (DNs linked to several accounts, all suspended), C(already_listed) (derived identities the list
      already names). A cached resolution adds C(last_resolved), C(cache_age), C(cache_age_seconds) and C(error).
  returned: when O(resolve_tokens) is set
  type: list
  elements: dict
expired:
  description: Entries dropped because their C(expires) time has passed.
  returned: always
  type: list
  elements: dict
protected:
  description: Entries dropped because the allow-list protects them.
  returned: always
  type: list
  elements: dict
overridden:
  description: Protected entries suspended anyway because of O(allow_override).
  returned: always
  type: list
  elements: dict
guard:
  description: Why the safety rails refused the run (empty source, shrink over the limit, failed source), or null.
  returned: always
  type: str
list:
  description: The whole merged list (only with O(return_list=true)).
  returned: when O(return_list=true)
  type: list
  elements: dict
audit_log:
  description: Path of the audit log written by this run.
  returned: always
  type: str
run_id:
  description: Identifier of this run, written in every audit log line (C(run)).
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
import hashlib
import json
import os
import re
import uuid

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._module_base import GridsecModule, gc_paused
from ansible_collections.gridsec.ops.plugins.module_utils._panda.specs import PANDA_DB_SPEC, PANDA_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import merge as sl_merge
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import sources as sl_sources
from ansible_collections.gridsec.ops.plugins.module_utils._suspension import state as sl_state
from ansible_collections.gridsec.ops.plugins.module_utils._suspension.entries import (
    DN,
    identity_entry,
    iso,
    key_id,
    sort_key,
    utcnow,
)
from ansible_collections.gridsec.ops.plugins.module_utils._sync.base import SyncContext
# the option specs without the code behind them (the Argus client, the IAM resolver, the target classes): those
# are imported where they are used, since AnsiballZ compiles every imported module_util again on each run
from ansible_collections.gridsec.ops.plugins.module_utils._argus.specs import ARGUS_SPEC
from ansible_collections.gridsec.ops.plugins.module_utils._sync.specs import PAP_KEYS, PAP_OPTIONS, RESOLVE_OPTIONS
from ansible_collections.gridsec.ops.plugins.module_utils._sync.registry import (
    TLS_OPTIONS,
    resolved_spec,
    target_class,
    target_spec,
)

SOURCE_TYPES = ("argus", "yaml", "plain")
SOURCE_SPEC = dict(
    name=dict(type="str", required=True),
    type=dict(type="str", required=True, choices=list(SOURCE_TYPES)),
    path=dict(type="path"),
    url=dict(type="str"),
    aliases=dict(type="list", elements="str"),
    on_source_failure=dict(type="str", default="fail", choices=["fail", "use_cache"]),
    cache_max_age=dict(type="str", default="24h"),
    allow_empty=dict(type="bool", default=False),
    require_signature=dict(type="bool", default=False),
    trusted_signers=dict(type="list", elements="str", default=[]),
    signature_path=dict(type="path"),
    signature_url=dict(type="str"),
)
SOURCE_SPEC.update(copy.deepcopy(PAP_OPTIONS))
SOURCE_SPEC.update(copy.deepcopy(TLS_OPTIONS))

# resolve_tokens items: the resolver's options and the connection options it may override (_sync/resolve_iam.py)
RESOLVE_SPEC = copy.deepcopy(RESOLVE_OPTIONS)
RESOLVE_SPEC.update(copy.deepcopy(TLS_OPTIONS))

_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def argument_spec():
    spec = copy.deepcopy(ARGUS_SPEC)
    spec.update(copy.deepcopy(PANDA_SPEC))
    spec.update(copy.deepcopy(PANDA_DB_SPEC))
    spec.update(
        name=dict(type="str", required=True),
        sources=dict(type="list", elements="dict", required=True, options=SOURCE_SPEC),
        # the common target options + every target type's OPTIONS (_sync/registry.py)
        targets=dict(type="list", elements="dict", required=True, options=target_spec()),
        allow_list=dict(type="list", elements="str", default=[]),
        allow_patterns=dict(type="list", elements="str", default=[]),
        allow_override=dict(type="list", elements="str", default=[]),
        max_shrink_count=dict(type="int"),
        max_shrink_fraction=dict(type="float", default=0.25),
        state_dir=dict(type="path", default="/var/lib/gridsec-suspension-sync"),
        audit_log=dict(type="path"),
        return_list=dict(type="bool", default=False),
        max_retries=dict(type="int", default=3),
        # the name says "tokens", the value holds none: its secrets are suboptions with no_log
        resolve_tokens=dict(type="list", elements="dict", default=[], options=RESOLVE_SPEC, no_log=False),
    )
    return spec


def split_kinds(wanted, kinds):
    """``(entries of a kind the target enforces, not_applicable report or None)``: the others are reported for
    the target, never dropped silently."""
    other = [entry for entry in wanted.values() if entry.kind not in kinds]
    if not other:
        return wanted, None
    kept = dict((key, entry) for key, entry in wanted.items() if entry.kind in kinds)
    return kept, {"count": len(other), "entries": [e.to_dict(with_meta=False) for e in sorted(other, key=sort_key)]}


class Sync(object):
    def __init__(self, module):
        self.module = module
        self.p = module.params
        self.check = module.check_mode
        self.run_id = str(uuid.uuid4())
        name = self.p["name"]
        self.state = sl_state.State(os.path.join(self.p["state_dir"], "%s.state.json" % name))
        self.times = sl_state.SourceTimes(os.path.join(self.p["state_dir"], "%s.sources.json" % name), self.state.path)
        self.now = utcnow()
        self.audit_path = self.p["audit_log"] or os.path.join(self.p["state_dir"], "%s.audit.jsonl" % name)
        self.audit = sl_state.AuditLog(self.audit_path, self.run_id, self.check, name)
        self.ctx = SyncContext(module, self.state, applied_at=iso(self.now))
        self.inputs = None  # merge_inputs
        self.unchanged_bytes = {}  # name -> bytes of a source whose digest is that of its cache
        self.reparsed = {}  # name -> entries of an unchanged source whose cache was lost
        self.next_expiry = None
        self.result = dict(changed=False, merged_count=0, sources=[], targets=[], expired=[], protected=[],
                           overridden=[], guard=None, audit_log=self.audit_path, run_id=self.run_id)

    # -- helpers ------------------------------------------------------------------------------------------------
    def failure_result(self):
        """The keys every failure of the sync returns (what was done so far); flushes the audit log."""
        self.audit.flush()
        return dict(self.result)

    def fail(self, msg, error_class=ConfigError):
        """Refuse the run for a reason the sync finds itself (options, safety rails): a typed error through the
        module's failure boundary, which adds what the sync did so far (``SyncModule.prepare_failure``)."""
        raise error_class(msg)

    # -- steps --------------------------------------------------------------------------------------------------
    def check_names(self):
        if not _NAME_RE.match(self.p["name"]):
            self.fail("name %r: use letters, digits, '.', '_' and '-' only" % self.p["name"])
        for kind in ("sources", "targets"):
            seen = set()
            items = self.p[kind]
            if not items:
                self.fail("%s must not be empty" % kind)
            for item in items:
                if item["name"] in seen:
                    self.fail("%s: name %r is used twice" % (kind, item["name"]))
                seen.add(item["name"])
        for source in self.p["sources"]:
            if source["type"] in ("yaml", "plain") and bool(source.get("path")) == bool(source.get("url")):
                self.fail("source %s: give exactly one of path and url" % source["name"])
            if source["require_signature"] and (source["type"] != "yaml" or not source["trusted_signers"]):
                self.fail("source %s: require_signature needs type yaml and a non-empty trusted_signers"
                          % source["name"])
            try:
                source["_cache_max_age"] = sl_state.parse_duration(source["cache_max_age"], "cache_max_age")
            except GridsecError as err:
                # the task's message as before: the source names where, the option says what
                raise ConfigError("source %s: %s" % (source["name"], err.msg))
        problems = []
        for source in self.p["sources"]:
            if source["type"] == "argus":
                from ansible_collections.gridsec.ops.plugins.module_utils._argus.endpoint import connection_problem
                problem = connection_problem(sl_sources.connection_settings(source, self.p, PAP_KEYS))
                if problem:
                    problems.append("source %s: %s" % (source["name"], problem))
        for spec in self.p["targets"]:
            problems.extend(target_class(spec).spec_problems(resolved_spec(spec, self.p)))
        if self.p["resolve_tokens"]:
            from ansible_collections.gridsec.ops.plugins.module_utils._sync import resolve_iam
            problems.extend(resolve_iam.spec_problems(self.p["resolve_tokens"]))
        if problems:
            self.fail("; ".join(problems))
        fraction = self.p["max_shrink_fraction"]
        if fraction is not None and not 0 <= fraction <= 1:
            self.fail("max_shrink_fraction must be between 0 and 1 (got %s)" % fraction)

    def read_source(self, spec):
        """``(entries, report, sha256 of the bytes read or None)``; identical bytes reuse the entries parsed (and
        validated) in the last good run, so an unchanged list is not parsed again."""
        name = spec["name"]
        if spec["type"] == "argus":
            client = self.ctx.pap_client(spec, "source")
            try:
                entries, report = sl_sources.read_argus_source(client, spec)
            except GridsecError as err:
                raise sl_sources.SourceError(str(err), server="source %s" % name, operation=err.operation or "read PAP")
            return entries, dict(report, reads=len(client.operations)), None
        data, where = sl_sources._read_location(spec, self.p, "read %s" % (spec.get("path") or spec.get("url")))
        report = {"location": where, "reads": 1}
        if spec["require_signature"]:
            # verified on every run, unchanged bytes included: a list expires, and the CA directory changes
            data, report["signed"] = self.verify_signed(spec, data)
            report["reads"] = 2
        digest = hashlib.sha256(spec["type"].encode("ascii") + b"\0" + data).hexdigest()
        if digest == self.state.source_digest(name):
            # the entries stay in the state until the merge needs them (``source_entries``): none when the merged
            # list of the last good run stands (``fast_merged``)
            self.unchanged_bytes[name] = data
            return None, dict(report, unchanged=True), digest
        return self.parse_source(spec, data), report, digest

    def parse_source(self, spec, data):
        name = spec["name"]
        if spec["type"] == "yaml":
            yaml, yaml_import_error = sl_sources.yaml_library()
            if yaml is None and not data.lstrip().startswith(b"{"):
                self.module.require_library("PyYAML", yaml_import_error, why="source %s is YAML" % name)
            return sl_sources.parse_yaml_list(data, name)
        return sl_sources.parse_plain_list(data, name)

    def source_entries(self, name):
        """The entries of an unchanged source for the merge: its cache, else (cache file lost) its bytes parsed
        again (and cached again by ``remember_source``)."""
        entries = self.state.source_cache(name)
        if entries is None:
            spec = [s for s in self.p["sources"] if s["name"] == name][0]
            entries = self.reparsed[name] = self.parse_source(spec, self.unchanged_bytes[name])
        return entries

    def verify_signed(self, spec, document):
        """``(the list inside, its signed facts)`` of a signed source; SourceError when it cannot be trusted."""
        from ansible_collections.gridsec.ops.plugins.module_utils import _signed_list as signed

        name = spec["name"]
        sig_spec = dict(spec, path=spec["signature_path"] or (spec["path"] + ".sig" if spec.get("path") else None),
                        url=spec["signature_url"] or (spec["url"] + ".sig" if spec.get("url") else None))
        if sig_spec["path"]:
            sig_spec["url"] = None
        signature, _where = sl_sources._read_location(sig_spec, self.p, "read signature %s"
                                                      % (sig_spec["path"] or sig_spec["url"]))
        ca_path = sl_sources.connection_settings(spec, self.p, ("ca_path",))["ca_path"]
        last = (self.state.data["sources"].get(name) or {}).get("signed")
        try:
            doc = signed.verify(document, signature, signed.load_ca_directory(ca_path), spec["trusted_signers"],
                                self.now, last=last)
        except GridsecError as err:
            raise sl_sources.SourceError("signed list refused: %s" % err.msg, server="source %s" % name,
                                         operation=err.operation or "verify signature")
        facts = dict((key, doc[key]) for key in ("serial", "issued", "expires", "signer", "sha256"))
        return json.dumps(doc["list"], ensure_ascii=False).encode("utf-8"), facts

    def read_sources(self):
        lists = []
        for spec in self.p["sources"]:
            name = spec["name"]
            info = {"name": name, "type": spec["type"], "status": "ok"}
            digest = None
            try:
                entries, report, digest = self.read_source(spec)
                info.update(report)
            except GridsecError as err:
                info.update(status="failed", error=str(err))
                entries = self.cached_entries(spec, err, info)
            info["count"] = len(entries) if entries is not None else self.state.source_count(name)
            if not info["count"] and not spec["allow_empty"]:
                self.result["sources"].append(info)
                self.guard("source %s returned an empty list (set allow_empty: true if that is expected); no target "
                           "was touched" % name)
            self.result["sources"].append(info)
            lists.append((name, entries, dict(info, sha256=digest)))
        return lists

    def cached_entries(self, spec, err, info):
        """The entries of the last good run for a failed source with ``use_cache``, when not older than its
        ``cache_max_age``; otherwise the run fails (no target touched). Using the cache is audited."""
        name = spec["name"]
        cached = self.state.source_cache(name)
        why = "source %s failed: %s" % (name, err)
        if spec["on_source_failure"] != "use_cache":
            self.result["sources"].append(info)
            self.guard(why + "; no target was touched")
        if cached is None:
            self.result["sources"].append(info)
            self.guard(why + " (on_source_failure=use_cache, but there is no cached list for it yet); no target was "
                       "touched")
        last_ok = self.times.last_ok(name)
        age = (self.now - last_ok).total_seconds() if last_ok is not None else None
        if last_ok is not None:
            info.update(last_read_ok=iso(last_ok), cache_age=sl_state.format_age(age), cache_age_seconds=int(age))
        if age is None or age > spec["_cache_max_age"]:
            self.result["sources"].append(info)
            self.guard(why + " (on_source_failure=use_cache, but its cached list is %s, older than cache_max_age=%s: "
                       "the source has been failing for too long); no target was touched"
                       % ("of unknown age" if age is None
                          else "from %s, %s old" % (iso(last_ok), sl_state.format_age(age)), spec["cache_max_age"]))
        info["status"] = "cached"
        self.audit.record("source:%s" % name, "use_cache", None, result="cached", error=str(err),
                          last_read_ok=iso(last_ok), cache_age_seconds=int(age),
                          cache_max_age=spec["cache_max_age"], count=len(cached))
        self.module.warn("source %s failed (%s); using its %d cached entries of the last good read (%s, %s old; "
                         "cache_max_age=%s)" % (name, err, len(cached), iso(last_ok), sl_state.format_age(age),
                                                spec["cache_max_age"]))
        return cached

    def list_serial(self, lists):
        """The serial of the list applied (``SyncContext.list_serial``): that of the one signed source (its last
        good serial when its cache is used), None without a signed source or with several (serials of different
        publishers say nothing together)."""
        signed = [(name, info) for (name, _entries, info), spec in zip(lists, self.p["sources"])
                  if spec["require_signature"]]
        if len(signed) != 1:
            return None
        name, info = signed[0]
        facts = info.get("signed") or (self.state.data["sources"].get(name) or {}).get("signed") or {}
        return facts.get("serial")

    def guard(self, why):
        self.result["guard"] = why
        self.audit.record("*", "refused", result="refused", reason=why)
        self.fail("%s refused by its safety rails: %s" % (self.p["name"], why), sl_merge.GuardError)

    def resolve_tokens(self, merged, allow, overrides):
        """The token identities of the DN entries through IAM (``resolve_tokens``, ``_sync/resolve_iam.py``) added to
        ``merged``; the allow-list applies to them too. ``(merged, protected, overridden)`` of the derived ones. A
        resolver that cannot read IAM (without a usable cache) fails the run before any target is touched."""
        if not self.p["resolve_tokens"]:
            return merged, [], []
        from ansible_collections.gridsec.ops.plugins.module_utils._sync import resolve_iam
        try:
            merged, derived, reports, audit = resolve_iam.expand(self.p["resolve_tokens"], merged, self.ctx, self.now,
                                                                 skip=sl_merge.canary_keys(merged))
        except resolve_iam.ResolveFailed as err:
            self.guard("%s; no target was touched" % err)
        self.result["resolve_tokens"] = reports
        for report in reports:
            if report["status"] == "cached":
                self.audit.record("resolve_tokens:%s" % report["name"], "use_cache", None, result="cached",
                                  error=report.get("error"), last_resolved=report.get("last_resolved"))
        for action, entry, fields in audit:
            self.audit.record(entry.meta["derived_by"], action, entry, **fields)
        _kept, protected, overridden = sl_merge.apply_allow_list_keyed(derived, allow, overrides)
        for key, _item in protected:
            merged.pop(key, None)
        return merged, protected, overridden

    def audit_target(self, target, data):
        label = "%s:%s" % (data["type"], data["name"])
        for action, item, fields in target.audit_records(data, self.check):
            self.audit.record(label, action, item, **fields)

    def audit_drops(self, expired, protected, overridden):
        """Audit lines for entries that expired, became protected or were overridden since the last run (not on
        every run while they stay so); returns the ``key_id`` lists the state keeps for the next run."""
        previous = self.state.data.get("dropped") or {}
        keyed = {"expire": [(e.key, e) for e in expired], "protect": protected, "allow_override": overridden}
        for action, pairs in sorted(keyed.items()):
            new = set(sl_merge.newly_dropped(previous.get(action), [key for key, _item in pairs]))
            for key, item in pairs:
                if key not in new:
                    continue
                if action == "expire":
                    self.audit.record("*", action, item, result="dropped", expires=item.meta.get("expires"))
                else:
                    self.audit.record("*", action, item, result="suspended" if action == "allow_override"
                                      else "dropped", protected_by=item["protected_by"])
        return dict((action, sorted(key_id(key) for key, _item in pairs)) for action, pairs in keyed.items())

    def target_list(self, spec, merged, canaries):
        """The list one target enforces and its ``canary`` result: the daily canary kept or left out, as the
        target's ``canary`` option says, else its type's ``CANARY_DEFAULT`` (keep for argus; skip for panda and
        file targets: it is no person, and a new one comes every day)."""
        mode = spec.get("canary") or target_class(spec).CANARY_DEFAULT
        report = {"mode": mode, "entries": sorted(merged[key].value for key in canaries)}
        if mode == "keep" or not canaries:
            return merged, report
        return dict((key, entry) for key, entry in merged.items() if key not in canaries), report

    def sync_target(self, spec, merged, canaries, failures):
        """Build, sync, audit and close one target (``TARGET_TYPES``); its result dict and the target (None
        when it could not be built). A ``GridsecError`` fails this target only (appended to ``failures``); so does
        an unexpected exception (a bug), reported as one with the operations issued before it: one target's bug
        must not keep the list from the others, nor hide what it wrote."""
        cls = target_class(spec)
        target = None
        wanted, canary = self.target_list(spec, merged, canaries)
        wanted, not_applicable = split_kinds(wanted, cls.KINDS)
        try:
            target = cls(resolved_spec(spec, self.p), self.ctx)
            data = target.sync(wanted, self.check)
        except GridsecError as err:
            data = self.target_failed(spec, target, str(err), failures)
        except Exception as err:  # pylint: disable=broad-except
            data = self.target_failed(spec, target, "internal error in the %s target, please report it (%s: %s)"
                                      % (spec["type"], type(err).__name__, err), failures)
        else:
            self.audit_target(target, data)
            for warning in data.get("warnings", []):
                self.module.warn("target %s: %s" % (spec["name"], warning))
            for problem in data.get("problems", []):
                failures.append("target %s: %s" % (spec["name"], problem))
                data["failed"] = True
        finally:
            if target is not None:
                target.close()
        data["canary"] = canary
        if not_applicable is not None:
            data["not_applicable"] = not_applicable
        return data, target

    def target_failed(self, spec, target, error, failures):
        """The result dict of a target that failed (``error``), with what it did before (``operations``)."""
        result = getattr(target, "result", None)
        data = dict(result.data) if result is not None else {"name": spec["name"], "type": spec["type"]}
        data.update(failed=True, error=error, changed=False)
        failures.append("target %s: %s" % (spec["name"], error))
        self.audit.record("%s:%s" % (spec["type"], spec["name"]), "sync", None, result="failed", error=error)
        return data

    # -- main ---------------------------------------------------------------------------------------------------
    def load(self):
        """Read the state and the source read times; the allow-list and the overrides (checked)."""
        self.state.load()
        # what the targets kept in the state, to tell whether a run changed it (a lookup cache can change on a
        # run that changes nothing on any server)
        self.targets_state_before = self.state.targets_snapshot()
        for warning in self.times.load().warnings:
            self.module.warn(warning)
        allow = sl_merge.AllowList(self.p["allow_list"], self.p["allow_patterns"])
        overrides = list(self.p["allow_override"])
        for option in ("allow_list", "allow_override"):
            for item in self.p[option]:
                entry = identity_entry(item, option)
                if entry.kind == DN and len(entry.dn.canonical()) < 2:
                    raise ConfigError("%s item %r is a one-component DN: a comma-form DN given as a string is "
                                      "split at its commas by Ansible; give %s as a YAML list of DNs"
                                      % (option, item, option), operation="check options")
        return allow, overrides

    def run(self):
        self.check_names()
        allow, overrides = self.load()
        lists = self.read_sources()
        self.ctx.list_serial = self.list_serial(lists)
        merged, dropped = self.merged_list(lists, allow, overrides)
        failures = []
        self.sync_targets(merged, failures)
        if self.p["return_list"]:
            self.result["list"] = [e.to_dict() for e in sorted(merged.values(), key=sort_key)]
        if not self.check:
            self.save_state(lists, merged, dropped, failures)
        try:
            self.audit.flush()
        except (IOError, OSError) as err:
            failures.append("audit log %s: %s" % (self.audit_path, err))
        if failures:
            self.module.fail_json(msg="%s: %d target(s) failed (the others were synced): %s"
                                  % (self.p["name"], len(failures), "; ".join(failures)), **self.result)
        self.module.exit_json(**self.result)

    def merge_inputs(self, lists):
        """A digest of everything the merged list depends on besides the time (the bytes of every source, the
        allow-list and the overrides), or None when the merge must run (a source read from a PAP or from its cache,
        token identities resolved through IAM, ``return_list``: the entries' sources are returned)."""
        if self.p["resolve_tokens"] or self.p["return_list"]:
            return None
        digest = hashlib.sha256(b"merge-inputs 1\n")
        for name, _entries, info in lists:
            if info["status"] != "ok" or not info.get("sha256"):
                return None
            digest.update(("source %s %s\n" % (name, info["sha256"])).encode("utf-8"))
        for option in ("allow_list", "allow_patterns", "allow_override"):
            digest.update(("%s %s\n" % (option, json.dumps(self.p[option], sort_keys=True))).encode("utf-8"))
        return digest.hexdigest()

    def fast_merged(self, inputs):
        """The merged list of the last good run, as it stands, when this run's inputs are those it was merged
        from (``merge_inputs``), no entry of it has expired since and the drops it recorded are those of the
        state: ``(merged, dropped)``, no source parsed, merged or checked again (they would give the same list).
        None otherwise."""
        last = self.state.data.get("last_good") or {}
        fast = last.get("fast")
        if inputs is None or not fast or fast.get("inputs") != inputs:
            return None
        if fast.get("next_expiry") and sl_state.parse_time(fast["next_expiry"]) <= self.now:
            return None  # an entry expires: the merge drops it (and audits it)
        if fast.get("dropped") != self.state.data.get("dropped"):
            return None  # the drops of another list were recorded since: the merge audits the difference
        merged = self.state.last_good_merged()
        self.result["expired"] = fast.get("expired") or []
        self.result["protected"] = fast.get("protected") or []
        self.result["overridden"] = fast.get("overridden") or []
        self.result["merged_count"] = len(merged)
        self.result["merge"] = "unchanged"
        return merged, fast["dropped"]

    def merged_list(self, lists, allow, overrides):
        """The list every target is brought to: merged, without expired and protected entries, with the token
        identities ``resolve_tokens`` derives; the shrink guard checked against the last good list.
        ``(merged, dropped)``."""
        self.inputs = self.merge_inputs(lists)
        fast = self.fast_merged(self.inputs)
        if fast is not None:
            return fast
        self.result["merge"] = "merged"
        merged = sl_merge.merge([(name, entries if entries is not None else self.source_entries(name))
                                 for name, entries, _info in lists])
        merged, expired = sl_merge.drop_expired(merged, self.now)
        # the first expiry ahead (protected entries included: one that expires moves from protected to expired)
        self.next_expiry = min((e.meta["expires"] for e in merged.values() if "expires" in e.meta),
                               key=sl_state.parse_time, default=None)
        merged, protected, overridden = sl_merge.apply_allow_list_keyed(merged, allow, overrides)
        merged, derived_protected, derived_overridden = self.resolve_tokens(merged, allow, overrides)
        protected.extend(derived_protected)
        overridden.extend(derived_overridden)
        self.result["expired"] = [e.to_dict() for e in expired]
        self.result["protected"] = [item for _key, item in protected]
        self.result["overridden"] = [item for _key, item in overridden]
        dropped = self.audit_drops(expired, protected, overridden)
        self.result["merged_count"] = len(merged)

        last_keys = self.state.last_good_keys()
        if last_keys is not None:
            expired_keys = set(e.key for e in expired)
            # entries that left because they expired or are now protected are not "shrink"
            protected_keys = set(key for key, _item in protected)
            last_keys -= expired_keys | protected_keys
            problem = sl_merge.shrink_check(set(merged), last_keys, self.p["max_shrink_count"],
                                            self.p["max_shrink_fraction"])
            if problem:
                self.guard(problem + "; the last good list is kept and no target was touched")
        return merged, dropped

    def sync_targets(self, merged, failures):
        """Every target brought to ``merged`` (a failed one is named in ``failures``; the others still run)."""
        diffs = []
        canaries = sl_merge.canary_keys(merged)
        for spec in self.p["targets"]:
            data, _target = self.sync_target(spec, merged, canaries, failures)
            self.result["targets"].append(data)
            if data.get("changed"):
                self.result["changed"] = True
                diffs.append(target_diff(data))
        if self.module._diff:
            self.result["diff"] = diffs

    def save_state(self, lists, merged, dropped, failures):
        """The state file (last good list, source caches, serials applied, dropped entries) and the source read
        times, written only when something in them changed; a write that fails is named in ``failures``."""
        # a target that keeps state (ctx.target_state) changed it when it changed or failed
        dirty = any(t["name"] in self.ctx.stateful and (t.get("changed") or t.get("failed"))
                    for t in self.result["targets"])
        if self.ctx.stateful and not dirty:
            dirty = self.state.targets_changed(self.targets_state_before)
        # the last good list stands as it was when the merge did not run (``fast_merged``)
        if self.result.get("merge") != "unchanged":
            dirty = self.remember_good(merged, dropped, failures) or dirty
        for name, entries, info in lists:
            dirty = self.remember_source(name, entries, info) or dirty
        if self.state.data.get("dropped", {}) != dropped:
            self.state.data["dropped"] = dropped
            dirty = True
        try:
            self.state.save(dirty=dirty)
        except (IOError, OSError) as err:
            failures.append("state file %s: %s" % (self.state.path, err))
        try:
            self.times.save()
        except (IOError, OSError) as err:
            failures.append("source read times %s: %s" % (self.times.path, err))

    def remember_good(self, merged, dropped, failures):
        """Record the merged list as the last good one (with what ``fast_merged`` needs to reuse it) unless a
        target failed; True when the state changed."""
        # last good = a list every target now holds: after a failed target the shrink guard must keep
        # comparing with the previous one (the per-source caches are still refreshed)
        if failures:
            return False
        # the items are built when digested and when written, never all at once (``CacheItems``); compared by
        # digest (that of the JSON text of the list): the stored keys are lists (JSON), the fresh ones tuples
        good = sl_state.CacheItems(sorted(merged.values(), key=sort_key), with_sources=True, compact=True)
        digest = sl_state.items_digest(good)
        fast = None
        if self.inputs is not None:
            fast = {"inputs": self.inputs, "next_expiry": self.next_expiry, "dropped": dropped,
                    "expired": self.result["expired"], "protected": self.result["protected"],
                    "overridden": self.result["overridden"]}
        last_good = self.state.data.get("last_good") or {}
        if last_good.get("sha256") == digest and last_good.get("fast") == fast:
            return False
        self.state.data["last_good"] = {"time": iso(self.now), "run": self.run_id, "entries": good, "sha256": digest,
                                        "fast": fast}
        return True

    def remember_source(self, name, entries, info):
        """Record a source read: its read time, its cache (when it changed) and the serial of a signed list (for
        the rollback check of the next run). True when the state changed."""
        if info["status"] != "ok":
            return False
        dirty = False
        self.times.mark(name, self.now)
        if not info.get("unchanged") or name in self.reparsed:
            entries = self.reparsed.get(name, entries)
            dirty = self.state.set_source_cache(name, info["sha256"], sl_state.CacheItems(entries))
        if info.get("signed"):
            stored = self.state.data["sources"].setdefault(name, {})
            if stored.get("signed") != info["signed"]:
                stored["signed"] = info["signed"]
                dirty = True
        return dirty


def _line(item):
    if "user" in item:
        return "%s (%s)" % (item["user"], item.get("dn"))
    if "account" in item:  # a rucio target: the account and the identities behind it
        return "account %s (%s)" % (item["account"], ", ".join(item.get("identities") or []))
    return "%s %s" % (item.get("kind"), item.get("value"))


def target_diff(data):
    header = "%s %s" % (data["type"], data["name"])
    before = ["- " + _line(i) for i in data.get("removed", [])]
    after = ["+ " + _line(i) for i in data.get("added", [])]
    return {"before_header": header + " (removed)", "after_header": header + " (added)",
            "before": "\n".join(before) + ("\n" if before else ""), "after": "\n".join(after) + ("\n" if after else "")}


class SyncModule(GridsecModule):
    """The shared module base (TLS options, one ``GridsecError`` failure path) with the sync's options; a failure
    returns what the sync did so far (``Sync.failure_result``) besides ``error``."""

    sync = None

    def prepare_failure(self, result):
        if self.sync is not None:
            result = dict(self.sync.failure_result(), **result)
        return super(SyncModule, self).prepare_failure(result)

    def require_libraries(self):
        """Every library the task's sources and targets need, before any source is read."""
        if any(s["type"] == "argus" for s in self.params["sources"]):
            from ansible_collections.gridsec.ops.plugins.module_utils import _xml
            self.require_library("lxml", _xml.LXML_IMPORT_ERROR, why="Argus sources and targets are SOAP")
        for spec in self.params["targets"]:
            for library, import_error, why in target_class(spec).LIBRARIES:
                self.require_library(library, import_error, why=why)


def run(module):
    module.require_libraries()
    module.sync = Sync(module)
    # the state file, the sources and the PAP's policy each hold an object per entry: see gc_paused
    with gc_paused():
        module.sync.run()


def main():
    module = SyncModule(connection_specs=(ARGUS_SPEC, PANDA_SPEC, PANDA_DB_SPEC), argument_spec=argument_spec(),
                        supports_check_mode=True)
    module.run_guarded(run, module)


if __name__ == "__main__":
    main()
