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
    try:
        os.symlink(ROOT, LINK)
    except FileExistsError:  # another pytest-xdist worker made it between the check and here
        pass
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

# markers of the tests that take more than a few seconds (see pytest.ini and the lab's pytest plugins)
SLOW_MARKERS = ("slow", "panda_real", "rucio_real")


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``-n N --dist loadfile --no-loadscope-reorder``, as scripts/run-tests.sh runs it) the
    files are handed to the workers in collection order, one at a time as a worker gets free. A long file handed
    out last leaves the other worker idle until it ends, so the files that hold slow tests (marked ``slow``, or
    run against the real PanDA or Rucio servers) are collected first and the many short ones fill in after them.
    Order inside a file is kept; a serial run keeps pytest's own order. (Each worker collects, and xdist clears
    ``-n`` in the workers' options, so the worker is told by the variable xdist sets.)"""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    slow = {item.path for item in items if any(item.get_closest_marker(name) for name in SLOW_MARKERS)}
    items.sort(key=lambda item: item.path not in slow)  # stable: False (slow files) first
