"""State of one lab PAP: its PAPs (aliases), order, polling interval, ACL and policy stores, kept in a
directory and rewritten atomically on every change, so a restarted PAP keeps its state.

    <dir>/pap_configuration.ini   [paps], [paps:properties] poll_interval/ordering, [standalone-service],
                                  [security] (rewritten by the lab like the real PAP does)
    <dir>/pap_authorization.ini   [dn] / [fqan] ACL (rewritten on addACE/removeACE/setACL)
    <dir>/repository/<alias>.xml  the XACML objects of each alias (local policies or remote cache)
"""
import datetime
import json
import os
import resource
import threading
import time
import uuid

from . import config as cfg
from .model import DISTRIBUTION_CONFIG_EXCEPTION, AliasStore, NotFound, Pap, PapError

DEFAULT_ALIAS = "default"
PAP_VERSION = "1.7.3"


def new_pap_id(alias):
    return "%s-%s" % (alias, uuid.uuid4())


class PapState:
    def __init__(self, directory, *, entity_id=None, hostname="127.0.0.1", port=0, certificate=None,
                 private_key=None, trust_store_dir=None, conf_dir=None):
        self.directory = os.path.abspath(directory)
        # conf_dir: a directory of real configuration files (pap_configuration.ini, pap_authorization.ini)
        # read at start like the real PAP and rewritten only on API changes; None: the lab's own files
        # in ``directory``, regenerated at every start
        self.conf_dir = os.path.abspath(conf_dir) if conf_dir else None
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
        # two copies of the ordering, as in argus-pap: ``order`` is PapManager.configurationPapOrdering (what
        # getOrder answers and the PAP follows), ``configured_order`` is DistributionConfiguration's (what
        # pap_configuration.ini holds); they differ only after a removePap of an unknown alias
        self.order = []
        self.configured_order = []
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
        return os.path.join(self.conf_dir or self.directory, "pap_configuration.ini")

    @property
    def authz_path(self):
        return os.path.join(self.conf_dir or self.directory, "pap_authorization.ini")

    @property
    def pap_info_path(self):
        """The PAP table of the repository (FileSystemPapDAO's pap_info.ini): ids, the default PAP."""
        return os.path.join(self.repo_dir, "pap_info.json")

    def _store_path(self, alias):
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in alias)
        return os.path.join(self.repo_dir, safe + ".xml")

    # -- loading -----------------------------------------------------------------------------------
    def _load(self):
        info = {}
        if os.path.exists(self.pap_info_path):
            with open(self.pap_info_path, encoding="utf-8") as handle:
                info = json.load(handle)
        dinfo = info.get(DEFAULT_ALIAS, {})
        # Pap.makeDefaultPAP: local, public, enabled (kept in the repository, not in pap_configuration.ini)
        self.paps = {DEFAULT_ALIAS: Pap(DEFAULT_ALIAS, id=dinfo.get("id"), local=True,
                                        public=dinfo.get("public", True), enabled=dinfo.get("enabled", True))}
        configured = []
        if os.path.exists(self.config_path):
            with open(self.config_path, encoding="utf-8") as handle:
                sections = cfg.read_ini(handle.read())
            configured = self._apply_config(sections)
        # PapManager.synchronizeRepositoryWithConfiguration: a configured PAP whose settings differ from
        # the repository's (Pap.equals: not 'enabled') gets a new id and an empty cache; repository PAPs
        # that are no longer configured are deleted
        for pap in configured:
            old = info.get(pap.alias)
            if old and old.get("id") and _same_pap(old, pap):
                pap.id = old["id"]
            self.paps[pap.alias] = pap
        for alias in info:
            if alias not in self.paps:
                self._unlink_store(alias)
        for alias, pap in self.paps.items():
            path = self._store_path(alias)
            store = AliasStore.load(path) if os.path.exists(path) else None
            if store is not None and pap.id is None and alias not in info:  # a lab state without pap_info
                pap.id = store.root_id
            pap.id = pap.id or new_pap_id(alias)
            if store is None or store.root_id != pap.id:
                store = AliasStore(pap.id)
            self.stores[alias] = store
        self.order = [a for a in self.order if a in self.paps]
        self.configured_order = list(self.order)
        if os.path.exists(self.authz_path):
            with open(self.authz_path, encoding="utf-8") as handle:
                self.acl = cfg.ACL.parse(handle.read())
        self.save_pap_info()
        for alias in self.paps:
            self.save_store(alias)
        if self.conf_dir is None:
            self.save_config()
            self.save_acl()

    def _apply_config(self, sections):
        """DistributionConfiguration.getPapList / getPapOrdering / getPollIntervall and the
        [standalone-service] / [security] keys PAPServer reads. Returns the configured remote PAPs."""
        paps = sections.get("paps", [])
        aliases = []
        for key, _ in paps:
            if "." in key:
                alias = key.rsplit(".", 1)[0]
                if alias not in aliases:
                    aliases.append(alias)
        configured = []
        for alias in aliases:
            get = lambda k, d=None: cfg.ini_lookup(paps, "%s.%s" % (alias, k), d)  # noqa: E731
            kind = get("type")
            if alias == DEFAULT_ALIAS:  # older lab files listed the default PAP too
                self.paps[DEFAULT_ALIAS].public = cfg.truthy(get("public"), self.paps[DEFAULT_ALIAS].public)
                self.paps[DEFAULT_ALIAS].enabled = cfg.truthy(get("enabled"), self.paps[DEFAULT_ALIAS].enabled)
                continue
            if kind is None:
                raise PapError('"type" is not set for remote pap "%s"' % alias,
                               "org.glite.authz.pap.distribution.DistributionConfigurationException")
            local = kind.lower() == "local"
            if get("hostname") is None and not local:
                raise PapError('"hostname" is not set for remote pap "%s"' % alias,
                               "org.glite.authz.pap.distribution.DistributionConfigurationException")
            configured.append(Pap(alias, dn=get("dn"), hostname=get("hostname") or "localhost",
                                  port=get("port") or "8150", path=get("path") or "/pap/services/",
                                  protocol=get("protocol") or "https", public=cfg.truthy(get("public"), False),
                                  local=local, enabled=cfg.truthy(get("enabled"), False)))
        props = sections.get("paps:properties", [])
        interval = cfg.ini_lookup(props, "poll_interval")
        if interval is not None:
            self.poll_interval = float(interval)
        self.order = cfg.ini_list(props, "ordering")
        service = sections.get("standalone-service", [])
        self.entity_id = cfg.ini_lookup(service, "entity_id", self.entity_id)
        return configured

    # -- saving --------------------------------------------------------------------------------------
    def save_pap_info(self):
        info = {alias: dict(id=p.id, local=p.local, public=p.public, enabled=p.enabled, dn=p.dn,
                            hostname=p.hostname, port=p.port, path=p.path, protocol=p.protocol)
                for alias, p in self.paps.items()}
        cfg.atomic_write(self.pap_info_path, json.dumps(info, indent=1) + "\n")

    def _paps_sections(self):
        """[paps] and [paps:properties] as DistributionConfiguration writes them (remote PAPs only: the
        default PAP lives in the repository)."""
        lines = ["[paps]", ""]
        for alias, pap in self.paps.items():
            if alias == DEFAULT_ALIAS:
                continue
            lines.append("%s.type = %s" % (alias, "local" if pap.local else "remote"))
            lines.append("%s.enabled = %s" % (alias, "true" if pap.enabled else "false"))
            for attr in ("dn", "hostname", "port", "path", "protocol"):
                value = getattr(pap, attr)
                if value not in (None, ""):
                    lines.append("%s.%s = %s" % (alias, attr, value))
            lines.append("%s.public = %s" % (alias, "true" if pap.public else "false"))
            lines.append("")
        interval = self.poll_interval
        shown = str(int(interval)) if float(interval).is_integer() else repr(float(interval))
        lines += ["[paps:properties]", "", "poll_interval = %s" % shown]
        for alias in self.configured_order:
            lines.append("ordering = %s" % alias)
        lines.append("")
        return lines

    def save_config(self):
        if self.conf_dir is not None:
            # rewrite [paps] and [paps:properties]; every other section stays as the operator wrote it
            with open(self.config_path, encoding="utf-8") as handle:
                old = handle.read().splitlines()
            out, skipping, done = [], False, False
            for raw in old:
                stripped = raw.strip()
                if stripped.startswith("[") and stripped.endswith("]"):
                    name = stripped[1:-1].strip()
                    skipping = name in ("paps", "paps:properties")
                    if skipping and not done:
                        out.extend(self._paps_sections())
                        done = True
                if not skipping:
                    out.append(raw)
            if not done:
                out = self._paps_sections() + out
            cfg.atomic_write(self.config_path, "\n".join(out).rstrip("\n") + "\n")
            return
        lines = ["#", "# PAP configuration (rewritten by the gridsec lab PAP when PAPs, order or", "# polling "
                 "interval change through the API, like the real PAP does)", "#"]
        lines += self._paps_sections()
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
        if self.paps.get(alias) is not None and self.paps[alias].local:
            self.last_modification = time.time()

    def _unlink_store(self, alias):
        try:
            os.unlink(self._store_path(alias))
        except FileNotFoundError:
            pass

    def changed(self, alias):
        """Persist an alias after a policy change."""
        self.save_store(alias)

    def config_changed(self, wake=False):
        self.save_pap_info()
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
        """PapManager.getPap -> FileSystemPapDAO.get."""
        if alias not in self.paps:
            raise NotFound("Not found: papAlias=%s" % alias)
        return self.paps[alias]

    def store(self, alias):
        return self.stores[self.pap(alias).alias]

    def local_store(self, alias):
        """The store of a LOCAL alias, for writes: remote aliases are read-only."""
        pap = self.pap(alias)
        if not pap.local:
            raise PapError("Forbidden operation for a remote PAP",
                           "org.glite.authz.pap.services.XACMLPolicyManagementServiceException")
        return self.stores[pap.alias]

    def remote_paps(self):
        return [self.paps[a] for a in self.effective_order() if not self.paps[a].local]

    # -- PAP management (PapManager / DistributionConfiguration) -----------------------------------
    def add_pap(self, pap):
        if pap.alias in self.paps:
            raise PapError("pap \"%s\" already exists" % pap.alias, "org.glite.authz.pap.repository.exceptions."
                           "AlreadyExistsException")
        pap.id = pap.id or new_pap_id(pap.alias)
        self.paps[pap.alias] = pap
        self.stores[pap.alias] = AliasStore(pap.id)
        self.save_store(pap.alias)
        self.config_changed()

    def update_pap(self, pap):
        """PapManager.updatePap: the stored id is kept; the cached policies stay."""
        old = self.pap(pap.alias)
        pap.id = old.id
        self.paps[pap.alias] = pap
        self.config_changed()

    def apply_order(self, aliases):
        """PapManager.setPapOrdering: the configuration's ordering, then the memory copy re-read from it."""
        self.configured_order = list(aliases or [])
        self.order = list(self.configured_order)

    def remove_pap(self, alias):
        """PapManager.deletePap: DistributionConfiguration.removePap first, which rebuilds the configuration's
        ordering keeping the first len-1 entries that differ from the alias (so removing an alias that is NOT
        in the ordering drops the LAST entry) and saves pap_configuration.ini; then the DAO delete, whose
        NotFoundException (unknown alias -> False) skips the refresh of the memory copy: the file has the
        shortened ordering, the running PAP keeps the old one until a restart or a setOrder."""
        old = list(self.configured_order)
        if old:
            self.configured_order = [a for a in old if a != alias][:len(old) - 1]
        if alias not in self.paps:
            self.config_changed()
            return False
        del self.paps[alias]
        self.stores.pop(alias, None)
        self._unlink_store(alias)
        self.order = list(self.configured_order)
        self.config_changed()
        return True

    def set_order(self, aliases):
        """DistributionConfiguration.savePapOrdering: null or empty clears the ordering; duplicates and
        aliases that are neither "default" nor configured are refused."""
        if aliases:
            seen = set()
            for alias in aliases:
                if alias in seen:
                    raise PapError('Error in remote paps order: alias "%s" appears more than one time' % alias,
                                   DISTRIBUTION_CONFIG_EXCEPTION)
                seen.add(alias)
                if alias not in self.paps:
                    raise PapError('Error in remote paps order: unknown alias "%s"' % alias,
                                   DISTRIBUTION_CONFIG_EXCEPTION)
        self.apply_order(aliases)
        self.config_changed()

    def status_lines(self):
        """The lines of ``/pap/status`` as ``monitoring/MonitoredProperties.toString`` prints them: the keys of
        ``propertyOrdering`` in that order, ``Key: value``; times are joda ``DateTime``s in ISO chronology UTC
        (``server/PAPService.setStartupMonitoringProperties``, ``PapContainer.notifyPolicyLastModificationTimeUpdate``)
        and the memory figures ``Runtime.totalMemory()``/``maxMemory()`` + " bytes" (here: the lab process's)."""
        local = sum(self.stores[a].count() for a, p in self.paps.items() if p.local)
        remote = sum(self.stores[a].count() for a, p in self.paps.items() if not p.local)
        started = int(self.startup_time * 1000)
        modified = int(self.last_modification * 1000)
        used, maximum = _memory_bytes()
        return [
            "Status: OK",
            "Service: Argus PAP",
            "ServiceVersion: %s" % PAP_VERSION,
            "ServiceStartupTime: %s" % joda_iso_utc(started),
            "ServiceStartupTimeMillis: %d" % started,
            "MaxMemory: %d bytes" % maximum,
            "UsedMemory: %d bytes" % used,
            "PolicyLastModificationTime: %s" % joda_iso_utc(modified),
            "PolicyLastModificationTimeMillis: %d" % modified,
            "NumberOfPolicies: %d" % (local + remote),
            "NumberOfLocalPolicies: %d" % local,
            "NumberOfRemotePolicies: %d" % remote,
        ]


def joda_iso_utc(millis):
    """joda ``DateTime.toString()`` in ISO chronology UTC (``ISODateTimeFormat.dateTime()``):
    ``2026-12-07T03:04:05.678Z``, always three fraction digits, ``Z`` for the zero offset."""
    when = datetime.datetime.fromtimestamp(millis // 1000, datetime.timezone.utc)
    return "%s.%03dZ" % (when.strftime("%Y-%m-%dT%H:%M:%S"), millis % 1000)


def _memory_bytes():
    """(used, max) for the lab process: its resident size and its address-space limit (else the machine's
    memory) stand in for the JVM's ``totalMemory()`` and ``maxMemory()``."""
    page = os.sysconf("SC_PAGE_SIZE")
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            used = int(handle.read().split()[1]) * page
    except (OSError, ValueError, IndexError):
        used = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    maximum = limit if limit != resource.RLIM_INFINITY else os.sysconf("SC_PHYS_PAGES") * page
    return used, maximum


def _same_pap(info, pap):
    """Pap.equals (alias, local, public, dn, hostname, port, path, protocol; not 'enabled')."""
    return (bool(info.get("local")) == pap.local and bool(info.get("public")) == pap.public
            and all(info.get(k) == getattr(pap, k) for k in ("dn", "hostname", "port", "path", "protocol")))
