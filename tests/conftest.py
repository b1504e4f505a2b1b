"""Shared pytest set-up for every test tier.

Makes the collection importable as ``ansible_collections.gridsec.ops`` (through the
``.tmp/collections`` symlink that the Makefile creates) and the lab package ``gridsec_lab``
importable from ``lab/``. Each lab component registers its fixtures as a pytest plugin below.
"""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, ".tmp", "collections")
LINK = os.path.join(COLLECTIONS, "ansible_collections", "gridsec", "ops")

if not os.path.exists(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
for path in (COLLECTIONS, os.path.join(ROOT, "lab")):
    if path not in sys.path:
        sys.path.insert(0, path)

# Fixtures of the lab servers (one module per lab component; add yours here).
pytest_plugins = [
    "gridsec_lab.argus.pytest_fixtures",
    "gridsec_lab.iam.pytest_fixtures",
    "gridsec_lab.pytest_panda",
    "gridsec_lab.pytest_rucio",
]
