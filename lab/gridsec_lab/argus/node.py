"""State of one lab PAP: its PAPs (aliases), order, polling interval, ACL and policy stores, kept in a
directory and rewritten atomically on every change, so a restarted PAP keeps its state.

    <dir>/pap_configuration.ini   [paps], [paps:properties] poll_interval/ordering, [standalone-service],
                                  [security] (rewritten by the lab like the real PAP does)
    <dir>/pap_authorization.ini   [dn] / [fqan] ACL (rewritten on addACE/removeACE/setACL)
    <dir>/repository/<alias>.xml  the XACML objects of each alias (local policies or remote cache)
"""
import os
import threading
import time
import uuid

from . import config as cfg
from .model import AliasStore, Pap, PapError

DEFAULT_ALIAS = "default"
PAP_VERSION = "1.7.3"


def new_pap_id(alias):
    return "%s-%s" % (alias, uuid.uuid4())


class PapState:
    def __init__(self, directory, *, entity_id=None, hostname="127.0.0.1", port=0, certificate=None,
                 private_key=None, trust_store_dir=None):
        self.directory = os.path.abspath(directory)
        self.repo_dir = os.path.join(self.directory, "repository")
        os.makedirs(self.repo_dir, exist_ok=True)
        self.lock = threading.RLock()
        self.entity_id = entity_id or "http://gridsec-lab/pap"
        self.hostname = hostname
        self.port = port
        self.certificate = certificate
        self.private_key = private_key
        self.trust_store_dir = trust_store_dir
        self.paps = {}
        self.order = []
        self.poll_interval = 300.0
        self.stores = {}
        self.acl = cfg.ACL({("dn", cfg.ANYONE_DN): set(cfg.PERMISSIONS)})
        self.startup_time = time.time()
        self.last_modification = time.time()
        self.listeners = []  # callables run after configuration changes (wake the poller)
        self._load()

    # -- paths -----------------------------------------------------------------------------------
    @property
    def config_path(self):
        return os.path.join(self.directory, "pap_configuration.ini")

    @property
    def authz_path(self):
        return os.path.join(self.directory, "pap_authorization.ini")

    def _store_path(self, alias):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in alias)
        return os.path.join(self.repo_dir, safe + ".xml")

    # -- loading -----------------------------------------------------------------------------------
    def _load(self):
        if os.path.exists(self.config_path):
            with open(self.config_path, encoding="utf-8") as handle:
                sections = cfg.read_ini(handle.read())
            self._apply_config(sections)
        if DEFAULT_ALIAS not in self.paps:
            self.paps = {DEFAULT_ALIAS: Pap(DEFAULT_ALIAS, local=True, public=True, enabled=True), **self.paps}
        for alias, pap in self.paps.items():
            path = self._store_path(alias)
            if os.path.exists(path):
                store = AliasStore.load(path)
                pap.id = store.root_id
            else:
                pap.id = pap.id or new_pap_id(alias)
                store = AliasStore(pap.id)
            self.stores[alias] = store
        if os.path.exists(self.authz_path):
            with open(self.authz_path, encoding="utf-8") as handle:
                self.acl = cfg.ACL.parse(handle.read())
        self.save_config()
        self.save_acl()
        for alias in self.paps:
            self.save_store(alias)

    def _apply_config(self, sections):
        paps = sections.get("paps", [])
        aliases = []
        for key, _ in paps:
            if "." in key:
                alias = key.rsplit(".", 1)[0]
                if alias not in aliases and key.endswith(".type"):
                    aliases.append(alias)
        for alias in aliases:
            get = lambda k, d=None: cfg.ini_lookup(paps, "%s.%s" % (alias, k), d)  # noqa: E731
            local = get("type", "local").lower() == "local"
            self.paps[alias] = Pap(
                alias, dn=get("dn"), hostname=get("hostname"), port=get("port", None if local else "8150"),
                path=get("path", None if local else "/pap/services/"),
                protocol=get("protocol", None if local else "https"),
                public=cfg.truthy(get("public"), alias == DEFAULT_ALIAS),
                local=local, enabled=cfg.truthy(get("enabled"), alias == DEFAULT_ALIAS))
        props = sections.get("paps:properties", [])
        interval = cfg.ini_lookup(props, "poll_interval")
        if interval is not None:
            self.poll_interval = float(interval)
        self.order = cfg.ini_list(props, "ordering")
        service = sections.get("standalone-service", [])
        self.entity_id = cfg.ini_lookup(service, "entity_id", self.entity_id)

    # -- saving --------------------------------------------------------------------------------------
    def save_config(self):
        lines = ["#", "# PAP configuration (rewritten by the gridsec lab PAP when PAPs, order or", "# polling "
                 "interval change through the API, like the real PAP does)", "#", "[paps]", ""]
        for alias, pap in self.paps.items():
            lines.append("%s.type = %s" % (alias, "local" if pap.local else "remote"))
            lines.append("%s.enabled = %s" % (alias, "true" if pap.enabled else "false"))
            lines.append("%s.public = %s" % (alias, "true" if pap.public else "false"))
            for attr in ("dn", "hostname", "port", "path", "protocol"):
                value = getattr(pap, attr)
                if value not in (None, ""):
                    lines.append("%s.%s = %s" % (alias, attr, value))
            lines.append("")
        interval = self.poll_interval
        shown = str(int(interval)) if float(interval).is_integer() else repr(float(interval))
        lines += ["[paps:properties]", "", "poll_interval = %s" % shown]
        for alias in self.effective_order():
            lines.append("ordering = %s" % alias)
        lines += ["", "[repository]", "", "location = %s" % self.repo_dir, "consistency_check = false",
                  "consistency_check.repair = false", "", "[standalone-service]", "",
                  "entity_id = %s" % self.entity_id, "hostname = %s" % self.hostname, "port = %s" % self.port, "",
                  "[security]", ""]
        if self.certificate:
            lines.append("certificate = %s" % self.certificate)
        if self.private_key:
            lines.append("private_key = %s" % self.private_key)
        if self.trust_store_dir:
            lines.append("trust_store_dir = %s" % self.trust_store_dir)
        cfg.atomic_write(self.config_path, "\n".join(lines) + "\n")

    def save_acl(self):
        cfg.atomic_write(self.authz_path, self.acl.render())

    def save_store(self, alias):
        self.stores[alias].save(self._store_path(alias), alias)
        self.last_modification = time.time()

    def changed(self, alias):
        """Persist an alias after a policy change."""
        self.save_store(alias)

    def config_changed(self, wake=False):
        self.save_config()
        if wake:
            for listener in list(self.listeners):
                listener()

    # -- queries ---------------------------------------------------------------------------------------
    def effective_order(self):
        order = [a for a in self.order if a in self.paps]
        if DEFAULT_ALIAS not in order:
            order.insert(0, DEFAULT_ALIAS)
        for alias in self.paps:
            if alias not in order:
                order.append(alias)
        return order

    def pap(self, alias):
        alias = alias or DEFAULT_ALIAS
        if alias not in self.paps:
            raise PapError("PAP not found: '%s'" % alias)
        return self.paps[alias]

    def store(self, alias):
        return self.stores[self.pap(alias).alias]

    def local_store(self, alias):
        """The store of a LOCAL alias, for writes: remote aliases are read-only."""
        pap = self.pap(alias)
        if not pap.local:
            raise PapError("Forbidden operation for a remote PAP")
        return self.stores[pap.alias]

    def remote_paps(self):
        return [self.paps[a] for a in self.effective_order() if not self.paps[a].local]

    # -- PAP management ------------------------------------------------------------------------------
    def add_pap(self, pap):
        if pap.alias in self.paps:
            raise PapError("PAP already exists: '%s'" % pap.alias)
        pap.id = new_pap_id(pap.alias)
        self.paps[pap.alias] = pap
        self.stores[pap.alias] = AliasStore(pap.id)
        self.save_store(pap.alias)
        self.config_changed()

    def update_pap(self, pap):
        old = self.pap(pap.alias)
        pap.id = old.id
        if pap.local != old.local:
            self.stores[pap.alias].erase()
            self.save_store(pap.alias)
        self.paps[pap.alias] = pap
        self.config_changed()

    def remove_pap(self, alias):
        pap = self.pap(alias)
        if pap.alias == DEFAULT_ALIAS:
            raise PapError("The default PAP cannot be removed")
        del self.paps[pap.alias]
        self.stores.pop(pap.alias, None)
        self.order = [a for a in self.order if a != pap.alias]
        try:
            os.unlink(self._store_path(pap.alias))
        except FileNotFoundError:
            pass
        self.config_changed()

    def set_order(self, aliases):
        for alias in aliases:
            if alias not in self.paps:
                raise PapError("PAP not found: '%s'" % alias)
        if len(set(aliases)) != len(aliases):
            raise PapError("Duplicated alias in the order")
        self.order = list(aliases)
        self.config_changed()

    def status_lines(self):
        local = sum(self.stores[a].count() for a, p in self.paps.items() if p.local)
        remote = sum(self.stores[a].count() for a, p in self.paps.items() if not p.local)
        millis = int(self.last_modification * 1000)
        return [
            "Service: Argus PAP (gridsec lab)",
            "ServiceVersion: %s" % PAP_VERSION,
            "Status: OK",
            "ServiceStartupTime: %s" % time.strftime("%a %b %d %H:%M:%S %Z %Y", time.localtime(self.startup_time)),
            "NumberOfPolicies: %d" % (local + remote),
            "NumberOfLocalPolicies: %d" % local,
            "NumberOfRemotePolicies: %d" % remote,
            "PolicyLastModificationTime: %s" % time.strftime("%a %b %d %H:%M:%S %Z %Y",
                                                             time.localtime(self.last_modification)),
            "PolicyLastModificationTimeMillis: %d" % millis,
        ]
