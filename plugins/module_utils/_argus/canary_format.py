# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""The daily canary's identity format, its dates and the status codes: what the canary check, the sync's canary
handling (``_suspension/merge.py``), the publish and status modules share.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

Standard library only, on purpose: the sync and the status modules need the canary's format on every run, and as
Ansible runs a module every module_util it imports is compiled anew; the PDP evaluator, the PAP client and lxml that
``_argus/canary.py`` needs for the check of a node stay out of their runs. ``_argus/canary.py`` re-exports every
name here.

* The canary DN (the regex of the EGI probe ARGOeu-Metrics/secmon-probes ``argus-ban``): RFC 2253 with ``", "``
  separators, ``CN=<hash8>, CN=<YYYYMMDD>, CN=Test Subject, CN=000001, CN=tsubject, OU=Users, OU=Organic Units,
  DC=cern, DC=ch`` where ``hash8`` is the first 8 lowercase hex digits of SHA-256(salt bytes + date bytes).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import calendar
import datetime
import hashlib
import re
import time

CANARY_TAIL = ["CN=Test Subject", "CN=000001", "CN=tsubject", "OU=Users", "OU=Organic Units", "DC=cern", "DC=ch"]
_TAIL_RE = r",\s?".join(re.escape(part) for part in CANARY_TAIL)
# The probe's regex (re.match, ", " separators); "," (what a PAP stores for slash-form input) is accepted too.
CANARY_RE = re.compile(r"CN=(?P<hash>[0-9a-f]{8}),\s?CN=(?P<date>[0-9]{8}),\s?" + _TAIL_RE + r"\s*$")
CANARY_SLASH_RE = re.compile(r"/DC=ch/DC=cern/OU=Organic Units/OU=Users/CN=tsubject/CN=000001/CN=Test Subject/"
                             r"CN=(?P<date>[0-9]{8})/CN=(?P<hash>[0-9a-f]{8})\s*$")

DAY = 86400

OK, WARNING, CRITICAL, UNKNOWN = 0, 1, 2, 3
STATUS_NAMES = {OK: "OK", WARNING: "WARNING", CRITICAL: "CRITICAL", UNKNOWN: "UNKNOWN"}
STATUS_CODES = dict((v, k) for k, v in STATUS_NAMES.items())


# ---------------------------------------------------------------------------------------------------------
# Canary format
# ---------------------------------------------------------------------------------------------------------

def check_date(date):
    """``YYYYMMDD`` string of a real calendar date, else ValueError."""
    text = str(date).strip()
    if not re.match(r"^[0-9]{8}$", text):
        raise ValueError("date %r is not of the form YYYYMMDD" % (date,))
    datetime.datetime.strptime(text, "%Y%m%d")
    return text


def utc_date(timestamp=None):
    """``YYYYMMDD`` of a POSIX time (now by default) in UTC."""
    return time.strftime("%Y%m%d", time.gmtime(time.time() if timestamp is None else timestamp))


def date_start(date):
    """POSIX time of 00:00 UTC of ``date`` (YYYYMMDD)."""
    return calendar.timegm(datetime.datetime.strptime(check_date(date), "%Y%m%d").timetuple())


def parse_publish_time(text):
    """Seconds after 00:00 UTC of ``HH:MM`` (the time of day the central team publishes the canary)."""
    parts = str(text or "").strip().split(":")
    if len(parts) != 2 or not all(x.isdigit() for x in parts) or int(parts[0]) > 23 or int(parts[1]) > 59:
        raise ValueError("publish_time must be HH:MM (UTC), not %r" % (text,))
    return int(parts[0]) * 3600 + int(parts[1]) * 60


def shift_date(date, days):
    day = datetime.datetime.strptime(check_date(date), "%Y%m%d") + datetime.timedelta(days=days)
    return day.strftime("%Y%m%d")


def canary_hash(salt, date):
    """First 8 lowercase hex digits of SHA-256(salt || date)."""
    if isinstance(salt, bytes):
        salt_bytes = salt
    else:
        salt_bytes = str(salt).encode("utf-8")
    return hashlib.sha256(salt_bytes + check_date(date).encode("ascii")).hexdigest()[:8]


def canary_dn(salt, date):
    """The canary as the probe expects it stored: RFC 2253 with ``", "`` separators (stored verbatim by a PAP)."""
    date = check_date(date)
    return ", ".join(["CN=%s" % canary_hash(salt, date), "CN=%s" % date] + CANARY_TAIL)


def canary_openssl(salt, date):
    date = check_date(date)
    return "/" + "/".join(list(reversed(CANARY_TAIL)) + ["CN=%s" % date, "CN=%s" % canary_hash(salt, date)])


#: the daily canary token identity's ``sub``: ``gridsec-canary-<YYYYMMDD>-<hash8>`` (the DN's date and hash)
CANARY_TOKEN_RE = re.compile(r"^gridsec-canary-(?P<date>[0-9]{8})-(?P<hash>[0-9a-f]{8})$")


def canary_token_subject(salt, date):
    """The ``sub`` of the daily canary token identity (issued by the issuer the central team names): the same
    date and hash as ``canary_dn``, so one salt and one date name both canaries."""
    date = check_date(date)
    return "gridsec-canary-%s-%s" % (date, canary_hash(salt, date))


def daily_canary(salt, date=None, issuer=None):
    """``(date, [identity dicts])`` of the daily canary of ``date`` (today UTC by default): its DN (``{"dn"}``) and,
    with the canary token ``issuer``, its token identity (``{"issuer", "subject"}``); ValueError for a bad date."""
    date = check_date(date) if date else utc_date()
    items = [{"dn": canary_dn(salt, date)}]
    if issuer:
        items.append({"issuer": issuer, "subject": canary_token_subject(salt, date)})
    return date, items


def parse_canary_subject(value):
    """``{"date", "hash"}`` when a token ``sub`` has the canary token format, else None."""
    match = CANARY_TOKEN_RE.match(str(value or ""))
    if match is None:
        return None
    try:
        return {"date": check_date(match.group("date")), "hash": match.group("hash")}
    except ValueError:
        return None


def parse_canary(value, salt=None):
    """``{"date", "hash", "hash_valid"}`` when ``value`` has the canary format, else None.

    ``hash_valid`` is True/False with a salt, None without (format-only, as the probe allows). A format match
    with an impossible date (20261341) is not a canary.
    """
    if value is None:
        return None
    text = str(value).strip()
    match = CANARY_RE.match(text) or CANARY_SLASH_RE.match(text)
    if match is None:
        return None
    try:
        date = check_date(match.group("date"))
    except ValueError:
        return None
    valid = None
    if salt is not None and salt != "":
        valid = canary_hash(salt, date) == match.group("hash")
    return {"date": date, "hash": match.group("hash"), "hash_valid": valid}


def utc_text(timestamp):
    if timestamp is None:
        return "?"
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(timestamp))


def format_seconds(value):
    """A duration for people: ``-`` when unknown, else s / min s / h min (``12 h``, ``2 h 5 min``)."""
    if value is None:
        return "-"
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        return str(value)
    if seconds < 60:
        return "%g s" % round(seconds, 1)
    whole = int(round(seconds))
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return "%d min" % minutes if not rest else "%d min %d s" % (minutes, rest)
    hours, rest = divmod(whole, 3600)
    return "%d h" % hours if rest < 60 else "%d h %d min" % (hours, rest // 60)
