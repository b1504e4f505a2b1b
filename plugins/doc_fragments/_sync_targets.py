# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
# PRIVATE doc fragment of the gridsec.ops collection: it may change at any time, without notice.

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    # Pairs with registry.target_spec() in plugins/module_utils/_sync/registry.py: the suboptions are those of the
    # targets option of suspension_list_sync (tests/unit/plugins/modules/test_sync_registry.py keeps them equal)
    DOCUMENTATION = r"""
options:
  targets:
    description:
      - The targets of the suspension list - where M(gridsec.ops.suspension_list_sync) enforces it and where
        M(gridsec.ops.suspension_status) reads what is enforced (the same items and options, one spec for both
        modules).
      - RV(targets) reports one item per target.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: Name of the target in results, errors and the audit log (unique).
        type: str
        required: true
      type:
        description:
          - Kind of target (docs/sync-targets.md). V(argus) - a local PAP alias. V(panda) - the PanDA ban storage.
            V(file) - an LCAS, gPlazma, plain or templated ban file. V(htcondor_ce) - an HTCondor-CE map file
            (SciTokens issuer and subject, SSL DN) mapping to C(@banned.htcondor.org). V(dcache) - the dCache
            gPlazma ban file with C(ban oidc:) lines for token identities. V(arc) - an C([authgroup]) of
            C(arc.conf) with C(authtokens) and C(subject) lines. V(rucio) - suspend the Rucio accounts behind the
            identities. V(iam) - suspend the INDIGO IAM accounts behind the identities (DNs through the finder by
            certificate subject, token identities of this IAM by their C(sub)), label them as this sync's and revoke
            their tokens; only suspensions this sync made are lifted.
          - A target reports the entries of a kind it cannot enforce (an FQAN at an HTCondor-CE, a token
            identity at Argus) under C(not_applicable), never silently.
        type: str
        required: true
        choices: [argus, panda, file, htcondor_ce, dcache, arc, rucio, iam]
      alias:
        description: Local PAP alias of an C(argus) target.
        type: str
        default: default
      public:
        description:
          - Visibility of the owned Argus policy. V(true) (a C(public-) policy) lets PAPs that pull from this one
            (relays, sites) receive the entries; V(false) keeps them for this PAP's own PDPs.
        type: bool
        default: true
      max_request_bytes:
        description:
          - Largest request an C(argus) target sends. The list is kept in as many owned policies as needed for each
            to fit one request, and a change rewrites only the policies it touches.
          - argus-pap caps no request body (its Jetty connector bounds only the headers), but a request is held in
            the PAP's Java heap several times over (256 MiB by default), so very large requests can exhaust it.
          - A write that fails part-way leaves the previously enforced list in force; the next run repairs it.
        type: int
        default: 1048576
      full_read_interval:
        description:
          - Seconds after a full read of the alias during which an C(argus) target trusts what it recorded in the
            state about the objects it owns (every PolicySet's version and references, each owned policy's version
            and rules, brought forward by each of its writes). When one small C(listPolicySets) call shows every
            PolicySet as recorded, a no-op stops there and a change is planned from the record, instead of reading
            every policy of the alias.
          - A change made by hand inside an owned policy that changes no PolicySet is noticed at the next full read,
            at the latest after this many seconds. V(0) reads the alias in full on every run.
        type: int
        default: 3600
      pap_host:
        description: PAP host of an C(argus) target (default O(pap_host)).
        type: str
      pap_port:
        description: PAP port of an C(argus) target (default O(pap_port)).
        type: int
      pap_path:
        description: PAP services path of an C(argus) target (default O(pap_path)).
        type: str
      client_cert:
        description: Client certificate for this target (default O(client_cert)).
        type: path
      client_key:
        description: Client key for this target (default O(client_key)).
        type: path
      proxy_file:
        description: Proxy file for this target (default O(proxy_file)).
        type: path
      ca_path:
        description: CA file or hashed CA directory for this target (default O(ca_path)).
        type: path
      validate_certs:
        description: Verify the server certificate of this target (default O(validate_certs)).
        type: bool
      timeout:
        description: Timeout in seconds for this target (default O(timeout)).
        type: float
      retries:
        description: Connection retries for this target (default O(retries)).
        type: int
      panda_url:
        description: PanDA server URL of a C(panda) target, used to kill jobs (default O(panda_url)).
        type: str
      db_backend:
        description: Database backend of a C(panda) target (default O(db_backend)).
        type: str
        choices: [postgresql, oracle]
      db_dsn:
        description: Database DSN of a C(panda) target (default O(db_dsn)).
        type: str
      db_host:
        description: Database host of a C(panda) target (default O(db_host)).
        type: str
      db_port:
        description: Database port of a C(panda) target (default O(db_port)).
        type: int
      db_name:
        description: Database name of a C(panda) target (default O(db_name)).
        type: str
      db_user:
        description: Database user of a C(panda) target (default O(db_user)).
        type: str
      db_password:
        description: Database password of a C(panda) target (default O(db_password)).
        type: str
      db_meta_schema:
        description: PanDA meta schema of a C(panda) target (default O(db_meta_schema)).
        type: str
      db_panda_schema:
        description: PanDA job schema of a C(panda) target (default O(db_panda_schema)).
        type: str
      db_deft_schema:
        description:
          - DEFT schema (C(PRODSYS_COMM), pending task commands) of a C(panda) target (default O(db_deft_schema)).
        type: str
      create_missing:
        description:
          - C(panda) target - create a banned C(users) row for a suspended user who never submitted, so that the
            ban holds from the first submission.
        type: bool
        default: true
      kill_jobs:
        description:
          - C(panda) target - kill the active jobs (found in the database) of users newly banned by this run,
            through the PanDA API (needs C(panda_url) and a production-role credential).
        type: bool
        default: false
      kill_code:
        description: C(panda) target with O(targets[].kill_jobs=true) - PanDA kill code (9, 91 or 99 for an admin).
        type: int
        default: 9
      kill_tasks:
        description:
          - C(panda) target - kill the unfinished JEDI tasks of users newly banned by this run through the PanDA API
            (needs C(panda_url) and a production-role credential). A task whose kill is already registered in
            C(PRODSYS_COMM) is not killed again (outcome V(kill_pending)), as in M(gridsec.ops.panda_job_kill).
        type: bool
        default: false
      allow_similar_names:
        description:
          - C(panda) target - a suspended DN whose user name has no C(users) row, while another row matches it apart
            from case and spacing (PanDA user names are case-sensitive), is not banned by default (outcome
            V(similar_name), the run fails naming both names), since a banned row under the near name would not
            stop the person. V(true) creates the banned row anyway and only warns.
        type: bool
        default: false
      canary:
        description:
          - What this target does with the central team's daily canary DN (C(CN=<hash>, CN=<YYYYMMDD>, CN=Test
            Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units, DC=cern, DC=ch)), which an C(argus) source
            reads from the central PAP with the real suspensions, and its token identity (subject
            C(gridsec-canary-<YYYYMMDD>-<hash8>)), which M(gridsec.ops.suspension_list_publish) adds with the DN to a
            signed list. They are test identities, not persons.
          - V(keep) writes it like any entry; V(skip) leaves it out of this target (an entry this target held for it,
            such as a PanDA ban made by an earlier version, is removed like any entry that left the list).
          - Default V(keep) for C(argus) targets (the canary reaching every PAP and PDP is how propagation is proven,
            see M(gridsec.ops.argus_canary)), V(skip) for C(panda) (it would be a new banned user every day) and
            C(file) targets. RV(targets) says per target what was done (C(canary)).
        type: str
        choices: [keep, skip]
      path:
        description:
          - File of a C(file), C(htcondor_ce), C(dcache) or C(arc) target. In the last three only the block between
            the C(# BEGIN/# END gridsec.ops suspension_list_sync <name>) lines is the sync's; the rest of the file is
            kept byte for byte.
          - Default for V(htcondor_ce) C(/etc/condor-ce/mapfiles.d/00-gridsec-ban.conf) (it must sort before the
            site's token mappings - HTCondor uses the first matching line), V(dcache) C(/etc/dcache/ban.conf), V(arc)
            C(/etc/arc.conf).
        type: path
      format:
        description:
          - Format of a C(file) target. V(lcas) - LCAS C(ban_users.db), one quoted slash DN per line (C(\") and
            C(\\) escaped). V(gplazma) - dCache gPlazma ban plugin file (C(ban dn:<DN>), C(ban fqan:<FQAN>) with the
            two alias lines). V(plain) - one slash DN per line. V(template) - O(targets[].template) per entry.
        type: str
        choices: [lcas, gplazma, plain, template]
        default: plain
      template:
        description:
          - C(file) target with O(targets[].format=template) - a Python format string rendered once per entry; fields
            C({dn}) (slash form), C({dn_rfc2253}), C({fqan}), C({value}), C({kind}), C({lcas}) (quoted slash
            form), C({reason}), C({origin}), C({ticket}), C({added}), C({expires}).
        type: str
      header:
        description: C(file) target - lines written after the ownership comment instead of the format's default header.
        type: str
      include_fqans:
        description:
          - C(file) target - write FQAN entries too. Default V(true) for V(gplazma) and V(template), V(false) for
            V(lcas) and V(plain) (whose consumers expect DNs only).
        type: bool
      mode:
        description: C(file) target - permissions of the file, as an octal string.
        type: str
        default: "0640"
      owner:
        description: C(file) target - owner (name or uid) of the file.
        type: str
      group:
        description: C(file) target - group (name or gid) of the file.
        type: str
      htcondor_ban_user:
        description:
          - C(htcondor_ce) target - the user a banned identity maps to (C(<user>@banned.htcondor.org), which the
            CE's defaults deny); an entry with a one-word C(ticket) maps to C(gridsec-<ticket>@banned.htcondor.org).
        type: str
        default: gridsec-banned
      htcondor_order_check:
        description:
          - C(htcondor_ce) target - what to do when a map file that sorts before O(targets[].path) already maps
            SciTokens or SSL identities to users (that mapping would win and the ban would never apply).
            V(refuse) fails the target without writing, V(warn) writes and warns.
        type: str
        choices: [refuse, warn]
        default: refuse
      reload_command:
        description:
          - C(htcondor_ce) or C(arc) target - a command (argument list, no shell) run after the file was written,
            for example C([condor_ce_reconfig]); not run on a no-op or in check mode.
        type: list
        elements: str
      dcache_op_aliases:
        description:
          - C(dcache) target - the site's gPlazma OP alias of each token issuer (C(ban oidc:<sub>@<alias>)); a token
            identity whose issuer has no alias here is reported, not written.
        type: dict
      dcache_version:
        description:
          - C(dcache) target - the dCache version. Versions before 9.2.44, 10.0.28, 10.1.22, 10.2.20, 11.0.9 and
            11.1.4 honour only the last C(ban) line of each principal type (dCache issue 7947); on such a version a
            file that needs two lines of one type is refused. Unset - written, with a warning.
        type: str
      arc_authgroup:
        description: C(arc) target - the name of the C([authgroup]) the sync owns (to be named in C(denyaccess)).
        type: str
        default: gridsec-banned
      rucio_url:
        description:
          - C(rucio) target - the Rucio REST server (https). The accounts behind the list's identities (DNs, token
            identities) are suspended; only those this sync suspended are ever re-activated (docs/rucio.md).
        type: str
      rucio_auth_type:
        description: C(rucio) target - V(userpass), or V(x509) with the target's TLS client credential.
        type: str
        choices: [userpass, x509]
        default: userpass
      rucio_account:
        description: C(rucio) target - the admin account it acts as (root or an account with the admin attribute); never suspended by it.
        type: str
        default: root
      rucio_username:
        description: C(rucio) target - userpass login name.
        type: str
      rucio_password:
        description: C(rucio) target - userpass password; never in results, state or the audit log.
        type: str
      rucio_lookup_max_age:
        description:
          - C(rucio) target - how long an identity's account lookup is reused (Rucio has no bulk identity listing,
            so the cache is what makes a no-op one listing read); an identity linked to a new account is found
            within this time.
        type: str
        default: 24h
      iam_url:
        description:
          - C(iam) target - IAM's base URL (https). The same account logic as M(gridsec.ops.iam_account) - an active
            account behind the list is labelled O(targets[].iam_label_name)=C(sync:<name>), disabled, and its access
            and refresh tokens are deleted one by one (never IAM's delete-all). An account disabled by someone else
            is not labelled and never re-enabled (its tokens are revoked once). When no identity of the list maps to
            an account any more, it is enabled and the label deleted, only if it carries this sync's label and the
            state records it. Token identities of other issuers are reported under C(other_issuer).
        type: str
      iam_issuer:
        description: C(iam) target - IAM's issuer as configured, when it differs from O(targets[].iam_url) (with or without the trailing C(/)).
        type: str
      client_id:
        description: C(iam) target - client id of an IAM admin client (scopes C(scim:read scim:write iam:admin.read iam:admin.write)).
        type: str
      client_secret:
        description: C(iam) target - its client secret; never in results, state or the audit log.
        type: str
      bearer_token:
        description: C(iam) target - an access token with those scopes, used as given (instead of O(targets[].client_id)).
        type: str
      iam_label_name:
        description:
          - C(iam) target - name of the unprefixed label marking this sync's suspensions (its value is C(sync:<name>),
            so M(gridsec.ops.iam_account) suspensions, labelled with an incident id, are never lifted by the sync).
        type: str
        default: gridsec.suspended
      iam_revoke_tokens:
        description: C(iam) target - delete the tokens of each account it suspends.
        type: bool
        default: true
      iam_dn_scan:
        description:
          - C(iam) target - compare the DNs the finder by certificate subject does not find with the certificate
            subjects of every account (one paged read of C(/scim/Users) per run).
        type: bool
        default: true
"""
