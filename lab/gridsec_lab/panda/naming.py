"""PanDA's user-name rule (``clean_user_id``), written for the lab from the steps in PANDA.md section 5.

The lab keeps its own copy on purpose: the collection has another one, and the integration suite only
proves something if the two were written independently and agree on the published vectors.
"""
import re

_DROP_RDN = re.compile(r"/(?:DC|O|OU|C|L)=[^/]*")
_EMAIL_WORD = re.compile(r"\s+\S+@\S+\.\S+$")


def clean_user_id(dn):
    try:
        name = _DROP_RDN.sub("", dn)                      # 1. organisation RDNs
        name = re.sub(r"/CN=\d+", "", name)               # 2. numeric CNs (only the digits go)
        name = re.sub(r" \d+", "", name)                  # 3. " 2", "_2"
        name = re.sub(r"_\d+", "", name)
        for literal in ("/CN=proxy", "/CN=limited proxy", "limited proxy"):   # 4.
            name = name.replace(literal, "")
        name = re.sub(r"/CN=Robot:[^/]*", "", name)        # 5.
        name = re.sub(r"/CN=nickname:[^/]*", "", name)
        common_names = re.findall(r"/CN=([^/]*)", name)    # 6.
        if len(common_names) >= 2:
            name = common_names[-1]
        else:
            name = name.replace("/CN=", "")
        cut = re.search(r"/email", name[1:], re.IGNORECASE)  # 7.
        if cut:
            name = name[:cut.start() + 1]
        degenerate = re.search(r"limited.*proxy", name)     # 8.
        if degenerate:
            name = degenerate.group(0)
        name = re.sub(r"[()']", "", name)                   # 9.
        shortened = _EMAIL_WORD.sub("", name).strip()       # 10.
        if " " in shortened:
            name = shortened
        return name
    except Exception:  # 11. the server returns its input on any failure
        return dn
