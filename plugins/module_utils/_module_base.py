# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Base class shared by the Argus and PanDA modules.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

``GridsecModule`` holds what every networked module of the collection does the same way, so that
``_argus/module.py`` and ``_panda/module.py`` keep only what is specific to their backend:

- the argument spec: the backend's connection options, ``TLS_SPEC`` (``_http_options.py``, ``_tls`` doc fragment) and the
  module's own options, with the TLS option constraints;
- the one error path: every ``GridsecError`` becomes ``fail_json`` with the error's message (naming server and
  operation), its structured form under ``error``, and ``requests`` (what had been sent so far); each backend adds
  its own keys in ``prepare_failure``;
- every failure carries ``error`` (``StructuredModule``, also the base of the modules without a server
  connection: ``incident_mail``, ``incident_record``): the ``GridsecError``'s structured form, else
  ``failure_error(msg)`` of the same shape; ``StructuredModule.run_guarded`` is every module's one failure
  boundary;
- building an ``HttpTransport`` (a ``ConfigError`` from it fails the task the same way);
- checking a required Python library before it is used (``missing_required_lib`` wording, ``error.kind``
  ``missing_library``);
- the DN of the credential the module connects with.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import contextlib
import copy
import gc

from ansible.module_utils.basic import AnsibleModule, missing_required_lib

from ansible_collections.gridsec.ops.plugins.module_utils._errors import ConfigError, GridsecError
from ansible_collections.gridsec.ops.plugins.module_utils._http_options import (
    TLS_MUTUALLY_EXCLUSIVE,
    TLS_REQUIRED_TOGETHER,
    TLS_SPEC,
    resolve_client_credential,
    transport_options,
)

_PROXY_CERT_INFO_OID = "1.3.6.1.5.5.7.1.14"
_SHORT_NAMES = {
    "2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST", "2.5.4.10": "O", "2.5.4.11": "OU",
    "0.9.2342.19200300.100.1.25": "DC", "1.2.840.113549.1.9.1": "emailAddress", "0.9.2342.19200300.100.1.1": "UID",
}


def jsonable(value):
    """A JSON-serialisable copy of ``value`` (objects become their ``str()``)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return dict((str(k), jsonable(v)) for k, v in value.items())
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    return str(value)


def error_to_dict(err):
    """Plain dict describing an error (``GridsecError.to_dict()``: type, kind, message, server, operation...)."""
    to_dict = getattr(err, "to_dict", None)
    if callable(to_dict):
        return jsonable(to_dict())
    out = {"type": type(err).__name__, "msg": str(err)}
    for key in ("server", "operation"):
        value = getattr(err, key, None)
        if value is not None:
            out[key] = str(value)
    return out


def with_result(err, **result):
    """``err`` with the result keys a failure must still return (``StructuredModule.run_guarded`` adds them; the same as ``GridsecError(result=...)``), so
    that a body that found a problem after reading raises a typed error instead of calling ``fail_json``."""
    err.result = result
    return err


def failure_error(msg, kind="error", error_type="ModuleFailure", details=None):
    """The ``error`` of a failure that is no ``GridsecError`` (invalid options, a check of the module itself,
    a missing library): the same keys as ``GridsecError.to_dict()``, ``server``/``operation`` None."""
    return {"type": error_type, "kind": kind, "msg": str(msg), "server": None, "operation": None,
            "details": jsonable(details or {})}


def string_list(value, name, example_item="..."):
    """``value`` of a ``type: raw`` option that takes a list of strings, checked; raises ``ConfigError``.

    A ``type: list`` option would split a string at its commas, so a DN in RFC 2253 form given as a string
    (``CN=John Doe,OU=Users,DC=org``) would silently become several one-RDN values. The options that take DNs
    are ``type: raw`` and come here instead: a list of strings is returned as a list, None (option left out) as
    ``[]``; a string is refused with the list to write instead (``example_item`` when it is empty), and so is
    any item that is not a string (a number or a mapping from a template). Nothing is guessed.
    """
    if value is None:
        return []
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        why = ""
        if "," in value:
            why = (": a string with commas is ambiguous (one DN in RFC 2253 form, or several values?) and a list "
                   "option would split it at its commas, so a DN such as CN=John Doe,OU=Users,DC=org would become "
                   "several one-RDN values")
        raise ConfigError("%s must be a list, not the string %r%s. Write %s: [%r]"
                          % (name, value, why, name, value or example_item))
    if not isinstance(value, (list, tuple)):
        raise ConfigError("%s must be a list of strings, got %s. Write %s: [%r]"
                          % (name, type(value).__name__, name, example_item))
    for index, item in enumerate(value):
        if not isinstance(item, str):
            raise ConfigError("%s[%d] must be a string, got %s %r (quote it, or check the template that built the "
                              "list)" % (name, index, type(item).__name__, item))
    return list(value)


def read_credential_dn(path):
    """Slash-form subject DN of the first non-proxy certificate in a PEM file (a client certificate or an
    RFC 3820 proxy chain), or None when it cannot be read (no file, no ``cryptography``)."""
    if not path:
        return None
    try:
        from cryptography import x509
    except ImportError:
        return None
    try:
        with open(path, "rb") as handle:
            pem = handle.read()
    except (IOError, OSError):
        return None
    begin = b"-----BEGIN CERTIFICATE-----"
    end = b"-----END CERTIFICATE-----"
    for block in pem.split(begin)[1:]:
        try:
            cert = x509.load_pem_x509_certificate(begin + block.split(end)[0] + end + b"\n")
        except ValueError:
            continue
        if any(ext.oid.dotted_string == _PROXY_CERT_INFO_OID for ext in cert.extensions):
            continue
        return certificate_dn(cert)
    return None


def certificate_dn(cert):
    """The subject DN of a ``cryptography`` certificate in OpenSSL slash form (as grid tools print it)."""
    rdns = []
    for rdn in cert.subject.rdns:
        rdns.append("+".join("%s=%s" % (_SHORT_NAMES.get(a.oid.dotted_string, a.oid.dotted_string), a.value)
                             for a in rdn))
    return "/" + "/".join(rdns)


@contextlib.contextmanager
def gc_paused():
    """Pause CPython's cyclic garbage collector for a bulk step (turned back on afterwards if it was on).

    Modules that read a big policy, list or state file build hundreds of thousands of small acyclic objects (parsed
    DNs, entries, rules, JSON lists, lxml proxies) and exit within seconds; the collector rescans them again and
    again as they pile up, which cost about as much as the work itself and grew faster than linearly with the
    size (argus_policy at 10,000 DNs, suspension_list_sync at 100,000 entries). Reference counting still frees
    all of them.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


class StructuredModule(AnsibleModule):
    """AnsibleModule whose every failure returns ``error`` (RETURN ``error`` of every module): a caller gives
    a ``GridsecError``'s structured form, anything else (AnsibleModule's own option checks included) gets
    ``failure_error(msg)``."""

    def fail_json(self, msg, **kwargs):
        if not isinstance(kwargs.get("error"), dict):
            kwargs["error"] = failure_error(msg)
        super(StructuredModule, self).fail_json(msg=msg, **kwargs)

    #: what a failure of the module body reports besides ``msg``/``error`` (a module points it at its result dict
    #: as it fills it in, so that a failure half-way still says what was already done, e.g. a mail already sent)
    partial_result = None

    def prepare_failure(self, result):
        """Called once before a ``GridsecError`` fails the task: release what the run holds (a subclass rolls back
        its transaction here) and fill in the keys of the failure ``result`` (``changed``, what had been done);
        returns ``result``."""
        result.setdefault("changed", False)
        return result

    def fail_from(self, err, **result):
        """Fail the task from a ``GridsecError``: its message (naming server and operation), ``error`` (its
        structured form), what the module had already done (``partial_result``) and ``result``."""
        merged = dict(self.partial_result or {})
        merged.update(result)
        self.fail_json(msg=str(err), error=error_to_dict(err), **self.prepare_failure(merged))

    def run_guarded(self, func, *args, **kwargs):
        """Call ``func``: the module's one failure boundary, where any ``GridsecError`` becomes a failed task (with
        the keys of the error's ``result``, when it carries some)."""
        try:
            return func(*args, **kwargs)
        except GridsecError as err:
            self.fail_from(err, **(getattr(err, "result", None) or {}))

    def require_library(self, name, import_error, why=None):
        """Fail the task (nothing was sent) when the Python library ``name`` could not be imported:
        ``import_error`` is the traceback text of that import, ``None`` when it worked; ``why`` (optional) is
        added to the message (e.g. which source needs it)."""
        if import_error:
            msg = missing_required_lib(name) + (" (%s)" % why if why else "")
            self.fail_json(msg=msg, exception=import_error, changed=False,
                           error=failure_error(msg, kind="missing_library", error_type="MissingLibrary",
                                               details={"library": name}))


class GridsecModule(StructuredModule):
    """AnsibleModule with the TLS options, one lazily built client and one ``GridsecError`` → ``fail_json`` path.

    ``connection_specs``: the backend's option specs (merged in order, before ``TLS_SPEC`` and the module's own
    ``argument_spec``). A subclass keeps its client in ``self._client`` (anything with an ``operations`` list).
    """

    def __init__(self, connection_specs=(), argument_spec=None, mutually_exclusive=None, required_together=None,
                 **kwargs):
        spec = {}
        for part in tuple(connection_specs) + (TLS_SPEC,):
            spec.update(copy.deepcopy(part))
        spec.update(argument_spec or {})
        mutually_exclusive = list(TLS_MUTUALLY_EXCLUSIVE) + list(mutually_exclusive or [])
        required_together = list(TLS_REQUIRED_TOGETHER) + list(required_together or [])
        super(GridsecModule, self).__init__(argument_spec=spec, mutually_exclusive=mutually_exclusive,
                                            required_together=required_together, **kwargs)
        self._client = None

    def new_transport(self, transport_class, base_url, **kwargs):
        """``transport_class(base_url, <TLS options>, **kwargs)``; a ``GridsecError`` fails the task."""
        options = transport_options(self.params)
        options.update(kwargs)
        try:
            return transport_class(base_url, **options)
        except GridsecError as err:
            self.fail_from(err)

    # -- identity -----------------------------------------------------------------------------------
    def caller_dn(self):
        """DN of the X.509 identity the module connects with: the credential ``HttpTransport`` uses (task
        options, else the grid environment). None with an OIDC token, without a credential or when unreadable."""
        if self.params.get("oidc_token"):
            return None
        try:
            credential = resolve_client_credential(self.params.get("client_cert"), self.params.get("client_key"),
                                                   self.params.get("proxy_file"))
        except GridsecError:
            return None
        return read_credential_dn(credential.cert)

    # -- failures -----------------------------------------------------------------------------------
    def client_operations(self):
        """Every operation sent to the server so far (reads included), JSON-serialisable."""
        return jsonable(list(self._client.operations)) if self._client is not None else []

    def fail_from(self, err, **result):
        """``StructuredModule.fail_from`` plus ``requests`` (every operation sent, the failing one last)."""
        result = self.prepare_failure(dict(self.partial_result or {}, **result))
        result.setdefault("requests", self.client_operations())
        self.fail_json(msg=str(err), error=error_to_dict(err), **result)
