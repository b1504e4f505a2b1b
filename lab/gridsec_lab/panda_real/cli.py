"""``python -m gridsec_lab panda-real --workdir DIR [--stop]``

Starts a real panda-server 1.0.4 behind the lab TLS front (installing it on first use), prints the endpoint
as JSON and writes it to ``DIR/panda.json``; the server keeps running in the background. ``--stop`` stops
the server of ``DIR`` and drops its database. ``--install-only`` just installs (or checks) the venv.
"""
import argparse
import json
import os
import sys
import time

from .. import pg
from . import installer, launcher


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m gridsec_lab panda-real", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", help="state directory (PKI, config, logs, panda.json)")
    parser.add_argument("--stop", action="store_true", help="stop the server of --workdir and drop its database")
    parser.add_argument("--install-only", action="store_true", help="install panda-server (if needed) and exit")
    parser.add_argument("--schema-dir", default=None,
                        help="PanDA PostgreSQL DDL directory (default: $GRIDSEC_PANDA_SCHEMA_DIR or %s)"
                             % pg.default_schema_dir())
    parser.add_argument("--pg-admin-dsn", default=None,
                        help="libpq DSN of a PostgreSQL superuser (default: $GRIDSEC_PG_ADMIN_DSN or %r)"
                             % pg.default_admin_dsn())
    parser.add_argument("--iam-json", default=None,
                        help="accept bearer tokens of the lab IAM that wrote this iam.json (Origin: atlas)")
    args = parser.parse_args(argv)
    say = lambda msg: print("panda-real: %s" % msg, file=sys.stderr, flush=True)  # noqa: E731
    if args.install_only:
        started = time.monotonic()
        home = installer.install(log_progress=say)
        say("installed at %s (%.0f s)" % (home, time.monotonic() - started))
        return 0
    if not args.workdir:
        parser.error("--workdir is required")
    if args.stop:
        launcher.stop_workdir(args.workdir)
        say("stopped %s" % os.path.abspath(args.workdir))
        return 0
    started = time.monotonic()
    token_config = None
    if args.iam_json:
        from ..panda_tokens import config_from_iam_json
        token_config = config_from_iam_json(args.iam_json, os.path.join(os.path.abspath(args.workdir), "auth"))
    try:
        endpoint = launcher.start(args.workdir, schema_dir=args.schema_dir, pg_admin_dsn=args.pg_admin_dsn,
                                  log_progress=say, detach=True, token_config=token_config)
    except (launcher.PandaRealError, installer.InstallError, pg.SchemaError) as exc:
        say("failed: %s" % exc)
        return 1
    say("ready in %.1f s; stop with: python -m gridsec_lab panda-real --workdir %s --stop"
        % (time.monotonic() - started, args.workdir))
    print(json.dumps(endpoint.to_json(), indent=2, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
