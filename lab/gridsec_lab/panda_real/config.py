"""panda-server 1.0.4 configuration for the lab (PANDA.md section 11.2).

``panda_common.cfg`` ([logger]) and ``panda_server.cfg`` ([server], [daemon]) are written to
``<workdir>/panda_home/etc/panda/``; the server finds them through ``PANDA_HOME``. Paths are under the
workdir, the database is the session's test database, token authentication is off unless a token
configuration is given, and ``production_dns`` holds the lab admin's DN (the production role without VOMS).
"""
import os


def _ini(sections):
    out = []
    for name, items in sections:
        out.append("[%s]" % name)
        out.extend("%s = %s" % (k, v) for k, v in items)
        out.append("")
    return "\n".join(out)


def write_config(workdir, *, venv, db, production_dns, port, token_config=None):
    """Write the two config files; return the ``PANDA_HOME`` directory. ``db`` is a
    :class:`gridsec_lab.panda_endpoint.PandaDatabase`. ``token_config`` (a
    :class:`gridsec_lab.panda_tokens.PandaTokenConfig`): accept bearer tokens (ENFORCERS.md section 2.6):
    ``token_authType = oidc`` and its auth files copied to ``etc/panda/auth`` (read once, at import); the
    issuer's CA goes to the server through ``REQUESTS_CA_BUNDLE`` (see the launcher)."""
    home = os.path.join(workdir, "panda_home")
    etc = os.path.join(home, "etc", "panda")
    auth_dir = os.path.join(etc, "auth")
    if token_config is not None:
        token_config.copy_to(auth_dir)
    logdir = os.path.join(workdir, "logs", "panda")
    cache_dir = os.path.join(workdir, "pandacache")
    for path in (etc, logdir, cache_dir, os.path.join(workdir, "keys")):
        os.makedirs(path, exist_ok=True)
    libs = [d for d in os.listdir(os.path.join(venv, "lib")) if d.startswith("python")]
    site_packages = os.path.join(venv, "lib", sorted(libs)[-1] if libs else "python3", "site-packages")
    for dn in production_dns:
        if "," in dn:
            raise ValueError("production_dns is comma-separated: a DN with a comma cannot be listed: %r" % dn)
    common = _ini([("logger", [
        # PandaLogger always builds an HTTP log handler: point it at a closed local port.
        ("loghost", "127.0.0.1"), ("monport-apache", "9"), ("method", "GET"), ("encoding", "url"),
        ("monurlprefix", "/logger/logger/query"), ("logdir", logdir), ("nemitters", "1"), ("migrated", "True"),
        ("log_level", "DEBUG"), ("rotating_policy", "none"), ("rotating_backup_count", "1"),
        ("rotating_max_size", "1024"), ("rotating_interval", "24"),
    ])])
    server = _ini([
        ("server", [
            ("logdir", logdir), ("loggername", "prod"), ("cache_dir", cache_dir),
            ("native_python", os.path.join(venv, "bin")), ("native_python32", os.path.join(venv, "bin")),
            ("pandaCommon_dir", os.path.join(site_packages, "pandacommon")),
            ("pandaPython_dir", os.path.join(site_packages, "pandaserver")),
            ("home_dir_cwd", workdir),
            ("backend", "postgres"),
            ("dbhost", db.host), ("dbport", str(db.port)), ("dbuser", db.user), ("dbpasswd", db.password or ""),
            ("dbname", db.dbname),
            ("nDBConnection", "1"), ("usedbtimeout", "True"), ("dbtimeout", "300"),
            ("dbbridgeverbose", "False"), ("dump_sql", "False"), ("cursor_dump", "False"),
            ("schemaPANDA", "DOMA_PANDA"), ("schemaMETA", "DOMA_PANDAMETA"), ("schemaPANDAARCH", "DOMA_PANDAARCH"),
            ("schemaJEDI", "DOMA_PANDA"), ("schemaDEFT", "DOMA_DEFT"),
            ("pserverhost", "localhost"), ("pserverport", str(port)), ("pserverporthttp", str(port)),
            ("pserverhosthttp", "localhost"), ("pserveralias", "localhost"),
            ("keyDir", os.path.join(workdir, "keys")), ("certdir", os.path.join(workdir, "keys")),
            ("emailSMTPsrv", "127.0.0.1"), ("emailSender", "panda@localhost"), ("emailLogin", "panda"),
            ("emailPass", "unused"),
            ("entryVerbose", "True"), ("record_statuschange", "False"), ("useJEDI", "True"),
            # Plug-ins are "<vo>[|<vo>...]:<module>:<class>", imported with __import__(module) and failures
            # silently ignored; the 1.0.4 modules are snake_case (the template's "dataservice.AdderDummyPlugin"
            # no longer exists, so the ATLAS/Rucio plug-ins would run). "any" = every VO.
            ("adder_plugins", "any:pandaserver.dataservice.adder_dummy_plugin:AdderDummyPlugin"),
            ("setupper_plugins", "any:pandaserver.dataservice.setupper_dummy_plugin:SetupperDummyPlugin"),
            # "None": tokens are ignored; "oidc": panda_request.decode_token runs for Authorization: Bearer.
            # No legacy issuers: only the issuer of the auth files' discovery documents is trusted.
            ("token_authType", "oidc" if token_config is not None else "None"), ("auth_config", auth_dir),
            ("token_cache_config", os.path.join(home, "etc", "panda", "token_cache_config.json")),
            ("legacy_token_issuers", ""), ("token_issuers", ""),
            ("production_dns", ",".join(production_dns)),
            ("endpoint_mapfile", os.path.join(home, "etc", "panda", "ddmendpoints.json")),
        ]),
        ("daemon", [("enable", "False")]),
    ])
    _write(os.path.join(etc, "panda_common.cfg"), common)
    _write(os.path.join(etc, "panda_server.cfg"), server)
    return home


def _write(path, text):
    with open(path + ".tmp", "w") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)
