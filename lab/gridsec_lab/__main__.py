"""Command line of the lab: ``python -m gridsec_lab <component> [options]``.

Components:
  argus       start a lab Argus PAP or a PAP hierarchy (central -> relay -> site)
  iam         start a lab INDIGO IAM (OIDC issuer, SCIM, finders, labels, tokens API)
  panda       start the lab PanDA server (API + monitor) on PostgreSQL
  panda-real  start a real panda-server 1.0.4 behind a TLS front (installs it on first use)
"""
import importlib
import sys

COMPONENTS = {
    "argus": "gridsec_lab.argus.cli",
    "iam": "gridsec_lab.iam.cli",
    "panda": "gridsec_lab.panda.cli",
    "panda-real": "gridsec_lab.panda_real.cli",
}


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMPONENTS:
        sys.stderr.write(__doc__)
        return 2
    module = importlib.import_module(COMPONENTS[argv[0]])
    return module.main(argv[1:])


if __name__ == "__main__":
    sys.exit(main())
