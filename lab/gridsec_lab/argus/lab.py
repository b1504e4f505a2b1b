"""Start one lab PAP or a hierarchy of PAPs from a small YAML/dict configuration and describe it in
``<workdir>/lab.json``. See ``hierarchy.example.yml`` and docs/lab.md for the format."""
import dataclasses
import json
import os

import yaml

from ..pki import TestPKI
from . import config as cfg
from .model import Pap
from .server import PapServer

DEFAULT_CREDENTIALS = {
    "admin": {"permissions": "ALL"},
    "reader": {"permissions": "POLICY_READ_LOCAL|POLICY_READ_REMOTE|CONFIGURATION_READ"},
    "nobody": {},
}


@dataclasses.dataclass
class PapInfo:
    name: str
    url: str  # base: https://localhost:PORT/pap/services
    host: str
    port: int
    dn: str
    cert: str
    key: str
    directory: str

    def service(self, service):
        return "%s/%s" % (self.url, service)

    @property
    def status_url(self):
        return "https://localhost:%d/pap/status" % self.port


def load_config(path_or_dict):
    if isinstance(path_or_dict, dict):
        return path_or_dict
    with open(path_or_dict, encoding="utf-8") as handle:
        return yaml.safe_load(handle) or {}


class ArgusLab:
    """A set of lab PAPs sharing one test PKI, started in this process."""

    def __init__(self, config, workdir, *, host="127.0.0.1", poll_interval=None, pki=None):
        self.config = load_config(config)
        self.workdir = os.path.abspath(workdir)
        os.makedirs(self.workdir, exist_ok=True)
        self.host = host
        self.poll_interval = poll_interval
        self.pki = pki or TestPKI(os.path.join(self.workdir, "pki"))
        self.ca_dir = self.pki.ca_dir
        self.creds = {}
        self.paps = {}
        self.servers = {}
        self.lab_json = os.path.join(self.workdir, "lab.json")

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self):
        cred_specs = self.config.get("credentials") or DEFAULT_CREDENTIALS
        for name, spec in cred_specs.items():
            self.creds[name] = self.pki.user(name, dn=(spec or {}).get("dn"))
        pap_specs = self.config.get("paps") or [{"name": "pap"}]
        host_creds = {spec["name"]: self.pki.host(spec["name"]) for spec in pap_specs}
        try:
            for spec in pap_specs:
                self._start_pap(spec, cred_specs, host_creds)
        except Exception:
            self.stop()
            raise
        self.write_json()
        return self

    def stop(self):
        for server in reversed(list(self.servers.values())):
            try:
                server.stop()
            except Exception:  # keep stopping the others
                pass
        self.servers.clear()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def _principal(self, name, host_creds):
        if name == "ANYONE":
            return ("dn", cfg.ANYONE_DN)
        if name.startswith("pap:"):
            return ("dn", host_creds[name[4:]].dn)
        if name.startswith("/"):
            first = name.split("/")[1]
            return ("dn", name) if "=" in first else ("fqan", name)
        if name in self.creds:
            return ("dn", self.creds[name].dn)
        raise ValueError("unknown principal %r in the lab configuration" % name)

    def _start_pap(self, spec, cred_specs, host_creds):
        name = spec["name"]
        cred = host_creds[name]
        directory = os.path.join(self.workdir, "paps", name)
        interval = self.poll_interval or spec.get("poll_interval") or self.config.get("poll_interval") or 300

        def initial(state):
            state.poll_interval = float(interval)
            default = state.paps["default"]
            dspec = spec.get("default") or {}
            default.public = bool(dspec.get("public", default.public))
            default.enabled = bool(dspec.get("enabled", default.enabled))
            for remote in spec.get("remotes") or []:
                upstream = self.paps[remote["pap"]]
                alias = remote.get("alias") or remote["pap"]
                pap = Pap(alias, dn=upstream.dn, hostname="localhost", port=str(upstream.port),
                          path="/pap/services/", protocol="https", public=bool(remote.get("public", False)),
                          local=False, enabled=bool(remote.get("enabled", True)))
                if alias in state.paps:  # restart: endpoints move, policies stay
                    old = state.paps[alias]
                    pap.id = old.id
                    state.paps[alias] = pap
                else:
                    state.add_pap(pap)
            if spec.get("order") is not None:
                state.apply_order(spec["order"])
            entries = {}
            for cname, cspec in cred_specs.items():
                perms = (cspec or {}).get("permissions")
                if perms:
                    entries[("dn", self.creds[cname].dn)] = cfg.parse_permissions(perms)
            for ace in spec.get("acl") or []:
                entries[self._principal(ace["principal"], host_creds)] = cfg.parse_permissions(ace["permissions"])
            if os.path.exists(state.authz_path + ".lab-initialised"):
                state.acl.entries.update(entries)
            else:
                state.acl = cfg.ACL(entries)
                with open(state.authz_path + ".lab-initialised", "w") as handle:
                    handle.write("ACL initialised from the lab configuration\n")
            state.save_acl()
            state.save_config()

        server = PapServer(directory, cred.cert, cred.key, self.ca_dir, host=self.host, port=int(spec.get("port", 0)),
                           name=name, initial=initial).start()
        self.servers[name] = server
        self.paps[name] = PapInfo(name=name, url=server.base_url, host="localhost", port=server.port, dn=cred.dn,
                                  cert=cred.cert, key=cred.key, directory=directory)

    # -- description -----------------------------------------------------------------------------------
    def describe(self):
        return {
            "ca_dir": self.ca_dir,
            "ca_cert": self.pki.ca_cert_path,
            "workdir": self.workdir,
            "paps": {name: dict(name=name, url=info.url, host=info.host, port=info.port, dn=info.dn,
                                host_cert=info.cert, host_key=info.key, directory=info.directory,
                                status_url=info.status_url)
                     for name, info in self.paps.items()},
            "credentials": {name: dict(cert=c.cert, key=c.key, proxy=c.proxy, dn=c.dn,
                                       permissions=((self.config.get("credentials") or DEFAULT_CREDENTIALS)
                                                    .get(name) or {}).get("permissions"))
                            for name, c in self.creds.items()},
        }

    def write_json(self):
        tmp = self.lab_json + ".tmp"
        with open(tmp, "w", encoding="utf-8") as handle:
            json.dump(self.describe(), handle, indent=2)
        os.replace(tmp, self.lab_json)

    def endpoints_text(self):
        lines = []
        for name, info in self.paps.items():
            lines.append("%-8s %s  (host DN %s)" % (name, info.url, info.dn))
        lines.append("ca_dir   %s" % self.ca_dir)
        lines.append("lab.json %s" % self.lab_json)
        return "\n".join(lines)
