"""Check that meta/runtime.yml action groups and plugins/modules agree.

Every module named in an action group must exist, and every module that takes the shared
connection options (it extends the _argus or _panda doc fragment) must be in the matching group,
otherwise `module_defaults: group/gridsec.ops.<group>` silently skips it.

Usage: python scripts/check-action-groups.py COLLECTION_ROOT
"""
import os
import re
import sys

import yaml

# doc fragment a module extends -> the action group it must belong to
FRAGMENT_TO_GROUP = {"gridsec.ops._argus": "argus", "gridsec.ops._panda": "panda"}


def main(root):
    with open(os.path.join(root, "meta", "runtime.yml")) as handle:
        runtime = yaml.safe_load(handle) or {}
    groups = runtime.get("action_groups") or {}
    modules_dir = os.path.join(root, "plugins", "modules")
    present = {
        name[:-3]
        for name in os.listdir(modules_dir)
        if name.endswith(".py") and not name.startswith("_")
    } if os.path.isdir(modules_dir) else set()

    problems = []
    for group, members in sorted(groups.items()):
        for member in members or []:
            if not isinstance(member, str):
                continue  # metadata entries such as {metadata: {extend_group: ...}}
            short = member.rsplit(".", 1)[-1]
            if short not in present:
                problems.append("action group %r lists %r but plugins/modules/%s.py does not exist" % (group, member, short))
    for module in sorted(present):
        with open(os.path.join(modules_dir, module + ".py")) as handle:
            source = handle.read()
        for fragment, group in FRAGMENT_TO_GROUP.items():
            # match the fragment name exactly, not gridsec.ops._panda_db for gridsec.ops._panda
            if re.search(re.escape(fragment) + r"(?![\w.])", source):
                members = [m.rsplit(".", 1)[-1] for m in groups.get(group) or [] if isinstance(m, str)]
                if module not in members:
                    problems.append("module %s uses %s but is not in action group %r" % (module, fragment, group))
    for problem in problems:
        print("ERROR: " + problem)
    if not problems:
        print("action groups OK: " + ", ".join("%s=%d" % (g, len(m or [])) for g, m in sorted(groups.items())))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "."))
