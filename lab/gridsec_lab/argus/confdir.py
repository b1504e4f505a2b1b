"""Start one lab PAP from a directory of real configuration files, as the real PAP starts
(``PAPServer --conf-dir``): ``pap_configuration.ini`` and ``pap_authorization.ini``.

What is read, with the argus-pap source that reads it:

* ``[standalone-service]`` ``hostname`` (default ``localhost``) and ``port`` (default 8150):
  PAPServer.configurePAPServer; ``entity_id``: ServicesUtils (the SAML Issuer).
* ``[security]`` ``certificate`` / ``private_key`` (defaults ``/etc/grid-security/hostcert.pem`` /
  ``hostkey.pem``) and ``trust_store_dir``: PAPServer.getSSLOptions. ``ca_dir`` (``--ca-dir``) wins over
  ``trust_store_dir``; the default is ``/etc/grid-security/certificates``.
* ``[paps]`` ``<alias>.type/enabled/public/dn/hostname/port/path/protocol`` and ``[paps:properties]``
  ``poll_interval`` and repeated ``ordering``: DistributionConfiguration.getPapList / getPapOrdering /
  getPollIntervall, synchronised with the repository like PapManager.synchronizeRepositoryWithConfiguration.
* ``pap_authorization.ini`` ``[dn]`` / ``[fqan]``: AuthzConfigurationParser.

The repository lives under ``workdir`` (``[repository] location`` is not used). The PAP rewrites
``[paps]`` / ``[paps:properties]`` of ``pap_configuration.ini`` when PAPs, the order or the interval
change through the API (DistributionConfiguration.savePap / savePapOrdering / savePollInterval) and
``pap_authorization.ini`` on ACL changes; it does not rewrite them at start. The lab always listens on
127.0.0.1 (the configured hostname is only used in URLs).
"""
import os

from . import config as cfg
from .server import PapServer

DEFAULT_CERT = "/etc/grid-security/hostcert.pem"
DEFAULT_KEY = "/etc/grid-security/hostkey.pem"
DEFAULT_CA_DIR = "/etc/grid-security/certificates"


class ConfDirError(ValueError):
    pass


def read_startup(conf_dir, ca_dir=None):
    """-> dict(hostname, port, certificate, private_key, ca_dir, entity_id) from pap_configuration.ini."""
    path = os.path.join(conf_dir, "pap_configuration.ini")
    if not os.path.exists(path):
        raise ConfDirError("%s not found" % path)
    if not os.path.exists(os.path.join(conf_dir, "pap_authorization.ini")):
        raise ConfDirError("%s not found" % os.path.join(conf_dir, "pap_authorization.ini"))
    with open(path, encoding="utf-8") as handle:
        sections = cfg.read_ini(handle.read())
    service = sections.get("standalone-service", [])
    security = sections.get("security", [])
    port = cfg.ini_lookup(service, "port", "8150")
    try:
        port = int(port)
    except ValueError:
        raise ConfDirError("[standalone-service] port is not a number: %r" % port) from None
    return {
        "hostname": cfg.ini_lookup(service, "hostname", "localhost"),
        "port": port,
        "entity_id": cfg.ini_lookup(service, "entity_id"),
        "certificate": cfg.ini_lookup(security, "certificate", DEFAULT_CERT),
        "private_key": cfg.ini_lookup(security, "private_key", DEFAULT_KEY),
        "ca_dir": ca_dir or cfg.ini_lookup(security, "trust_store_dir", DEFAULT_CA_DIR),
    }


class ConfDirPap:
    """A started PAP served from a configuration directory: ``.url``, ``.port``, ``.server``, ``.stop()``."""

    def __init__(self, server, startup, conf_dir, workdir):
        self.server = server
        self.startup = startup
        self.conf_dir = conf_dir
        self.workdir = workdir
        self.port = server.port
        self.hostname = startup["hostname"]
        self.url = "https://%s:%d/pap/services" % (self.hostname, self.port)
        self.status_url = "https://%s:%d/pap/status" % (self.hostname, self.port)

    @property
    def state(self):
        return self.server.state

    def service(self, name):
        return "%s/%s" % (self.url, name)

    def stop(self):
        self.server.stop()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def serve_conf_dir(conf_dir, workdir, ca_dir=None):
    """Start one lab PAP from ``conf_dir`` keeping its repository under ``workdir``; returns the
    started :class:`ConfDirPap` (call ``.stop()``)."""
    conf_dir = os.path.abspath(conf_dir)
    workdir = os.path.abspath(workdir)
    os.makedirs(workdir, exist_ok=True)
    startup = read_startup(conf_dir, ca_dir)
    for key in ("certificate", "private_key"):
        if not os.path.exists(startup[key]):
            raise ConfDirError("[security] %s: %s not found" % (key, startup[key]))
    if not os.path.isdir(startup["ca_dir"]):
        raise ConfDirError("CA directory %s not found" % startup["ca_dir"])
    server = PapServer(workdir, startup["certificate"], startup["private_key"], startup["ca_dir"], host="127.0.0.1",
                       port=startup["port"], name=os.path.basename(conf_dir.rstrip("/")) or "pap",
                       entity_id=startup["entity_id"], conf_dir=conf_dir)
    server.start()
    return ConfDirPap(server, startup, conf_dir, workdir)
