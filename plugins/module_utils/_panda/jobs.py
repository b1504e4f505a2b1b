# Copyright (c) 2026 gridsec.ops contributors
# Apache License 2.0 (see LICENSE)
"""Identify PanDA jobs from what a site sees (pilot directories, pilot logs) and read their payload.

PRIVATE to the gridsec.ops collection: this module may change at any time, without notice.

- ``panda_id_from_path``: the PandaID in a pilot work directory name (pilot1 ``PandaJob_<id>_<epoch>``,
  pilot2/3 ``PanDA_Pilot-<id>``, log tarball ``tarball_PandaJob_<id>_<queue>``), deepest component first;
  the pilot3 main directory ``PanDA_Pilot3_<pid>_<epoch>`` holds an OS pid and is never taken for an id.
- ``panda_ids_from_pilotlog``: every PandaID a pilot log mentions, with the lines it came from.
- ``payload_urls``: where the user's code can be downloaded (``<sourceURL>/cache/<file>``), following the
  ``jobParameters`` patterns of prun/pathena run and build jobs; says why when it cannot tell.
- ``job_summary``: the fields a site asks about, datetimes as UTC ISO 8601 with ``Z``.

Job records are dicts with the PanDA ``JobSpec`` attribute names (API v1); ``normalize_job`` maps the
lower-case BigPanDA monitor names onto them.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re
import shlex

# -- ids from paths and logs ------------------------------------------------------------------------------
_DIR_PATTERNS = (
    ("pilot1", re.compile(r"^PandaJob_([0-9]+)(?=_|$)")),
    ("pilot3", re.compile(r"^PanDA_Pilot-([0-9]+)(?=$|[._-])")),
    ("log tarball", re.compile(r"^tarball_PandaJob_([0-9]+)(?=_|$)")),
)
_LOG_PATTERNS = (
    re.compile(r"\bPandaID=([0-9]+)\b"),
    re.compile(r"\bPanDA job (?:id: )?([0-9]+)\b"),
    re.compile(r"\breceived job: ([0-9]+)\b"),
)


def _path_components(path):
    """Components of ``path`` from the deepest to the root (both ``/`` and ``\\`` separate)."""
    parts = [part for part in re.split(r"[/\\]+", path or "") if part not in ("", ".")]
    return list(reversed(parts))


def panda_ids_in_path(path):
    """Every ``(panda_id, component, kind)`` found in the components of ``path``, deepest first."""
    found = []
    for component in _path_components(path):
        for kind, pattern in _DIR_PATTERNS:
            match = pattern.match(component)
            if match:
                found.append((int(match.group(1)), component, kind))
                break
    return found


def panda_id_from_path(path):
    """The PandaID of the deepest pilot job directory in ``path``, or None."""
    found = panda_ids_in_path(path)
    return found[0][0] if found else None


def panda_ids_from_pilotlog(text_or_lines, max_lines_per_id=5):
    """PandaIDs mentioned in a pilot log (``PandaID=<id>``, ``PanDA job <id>``, ``PanDA job id: <id>``,
    ``received job: <id>``).

    Returns a list of ``{"panda_id": int, "count": n, "lines": [{"line": number, "text": str}, ...]}`` in
    order of first appearance (at most ``max_lines_per_id`` example lines each). Several distinct ids are all
    reported: choosing one is the caller's decision.
    """
    if isinstance(text_or_lines, bytes):
        text_or_lines = text_or_lines.decode("utf-8", "replace")
    lines = text_or_lines.splitlines() if isinstance(text_or_lines, str) else text_or_lines
    found = {}
    order = []
    for number, line in enumerate(lines, 1):
        if isinstance(line, bytes):
            line = line.decode("utf-8", "replace")
        ids_here = []
        for pattern in _LOG_PATTERNS:
            for match in pattern.finditer(line):
                panda_id = int(match.group(1))
                if panda_id not in ids_here:
                    ids_here.append(panda_id)
        for panda_id in ids_here:
            entry = found.get(panda_id)
            if entry is None:
                entry = found[panda_id] = {"panda_id": panda_id, "count": 0, "lines": []}
                order.append(panda_id)
            entry["count"] += 1
            if len(entry["lines"]) < max_lines_per_id:
                entry["lines"].append({"line": number, "text": line.rstrip("\r\n")[:1000]})
    return [found[panda_id] for panda_id in order]


# -- job records ---------------------------------------------------------------------------------------------
SUMMARY_FIELDS = (
    "PandaID", "prodUserID", "prodUserName", "creationHost", "creationTime", "computingSite", "jobStatus",
    "commandToPilot", "modificationTime", "jediTaskID", "jobsetID", "jobDefinitionID", "prodSourceLabel",
    "batchID", "jobParameters", "transformation",
)
_EXTRA_FIELDS = (
    "modificationHost", "startTime", "endTime", "taskBufferErrorCode", "taskBufferErrorDiag", "jobSubStatus",
    "computingElement", "workingGroup", "VO", "parentID", "attemptNr", "jobName", "pilotID", "schedulerID",
    "reqID",
)
_DATETIME_FIELDS = ("creationTime", "modificationTime", "startTime", "endTime", "stateChangeTime")
_KNOWN = dict((name.lower(), name) for name in SUMMARY_FIELDS + _EXTRA_FIELDS + _DATETIME_FIELDS)
_KNOWN["files"] = "Files"


def decode_datetimes(value):
    """Replace the API's ``{"__datetime__": iso}`` objects (recursively) by the ISO string."""
    if isinstance(value, dict):
        if len(value) == 1 and "__datetime__" in value:
            return value["__datetime__"]
        return dict((key, decode_datetimes(item)) for key, item in value.items())
    if isinstance(value, list):
        return [decode_datetimes(item) for item in value]
    return value


def utc_iso(value):
    """A PanDA time (naive UTC ``datetime``, ISO string, ``{"__datetime__": ...}``) as ISO 8601 UTC with ``Z``.

    None and empty values give None; text that is not a date is returned unchanged.
    """
    value = decode_datetimes(value)
    if value is None or value == "":
        return None
    if isinstance(value, datetime.datetime):
        moment = value
    else:
        text = str(value).strip()
        if text.endswith("Z"):
            text = text[:-1]
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return str(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.isoformat() + "Z"


def normalize_job(record):
    """A job dict with ``JobSpec`` names: API v1 records pass through (datetimes decoded); BigPanDA's lower-case
    columns (``pandaid``, ``produserid``...) are renamed. Unknown keys are kept as they are."""
    record = decode_datetimes(record or {})
    out = {}
    for key, value in record.items():
        name = key if key in _KNOWN.values() else _KNOWN.get(key.lower(), key)
        if name not in out or out[name] in (None, ""):
            out[name] = value
    files = out.get("Files")
    if isinstance(files, list):
        out["Files"] = [dict(entry) for entry in files if isinstance(entry, dict)]
    return out


def _files(job, file_type):
    result = []
    for entry in job.get("Files") or []:
        kind = entry.get("type") or entry.get("Type")
        lfn = entry.get("lfn") or entry.get("LFN")
        if lfn and (file_type is None or kind == file_type):
            result.append(lfn)
    return result


# -- jobParameters -------------------------------------------------------------------------------------------
def split_job_parameters(text):
    """Split ``jobParameters`` like a POSIX shell (quotes removed); unbalanced quotes do not fail: the open
    quote runs to the end of the text."""
    if not text:
        return []
    try:
        return shlex.split(text, posix=True)
    except ValueError:
        pass
    tokens = []
    current = []
    in_token = False
    quote = None
    index = 0
    while index < len(text):
        char = text[index]
        if quote:
            if char == quote:
                quote = None
            elif char == "\\" and quote == '"' and index + 1 < len(text) and text[index + 1] in '"\\$`':
                index += 1
                current.append(text[index])
            else:
                current.append(char)
        elif char in "\"'":
            quote = char
            in_token = True
        elif char == "\\" and index + 1 < len(text):
            index += 1
            current.append(text[index])
            in_token = True
        elif char.isspace():
            if in_token:
                tokens.append("".join(current))
                current = []
                in_token = False
        else:
            current.append(char)
            in_token = True
        index += 1
    if in_token:
        tokens.append("".join(current))
    return tokens


def job_options(job_parameters):
    """``{option: [values...]}`` of the options in ``jobParameters`` that take a value (``-a x``, ``--sourceURL=x``).

    Every token starting with ``-`` is an option; the next token is its value unless it is itself an option
    (``-j ""`` gives an empty value).
    """
    tokens = split_job_parameters(job_parameters or "")
    options = {}
    index = 0
    while index < len(tokens):
        token = tokens[index]
        if token.startswith("-") and len(token) > 1 and not _is_number(token):
            if token.startswith("--") and "=" in token:
                name, value = token.split("=", 1)
                options.setdefault(name, []).append(value)
            elif index + 1 < len(tokens) and not _looks_like_option(tokens[index + 1]):
                options.setdefault(token, []).append(tokens[index + 1])
                index += 1
            else:
                options.setdefault(token, []).append(None)
        index += 1
    return options


def _is_number(token):
    return re.match(r"^-[0-9.]+$", token) is not None


def _looks_like_option(token):
    return token.startswith("-") and len(token) > 1 and not _is_number(token)


def _first(options, *names):
    for name in names:
        for value in options.get(name) or []:
            if value is not None:
                return value
    return None


def _unsubstituted(value):
    return value is not None and ("${" in value or value.startswith("$"))


def is_build_job(job):
    """A PanDA build job (``prodSourceLabel`` ``panda``, or a ``buildGen``/``buildJob`` transformation)."""
    if (job.get("prodSourceLabel") or "") == "panda":
        return True
    trf = os.path.basename(job.get("transformation") or "")
    return trf.startswith("buildGen") or trf.startswith("buildJob")


def lib_file_of(job):
    """Name of the build output (``lib.tgz``) a run job needs: the ``-l`` value when substituted, else an input
    file whose name ends in ``lib.tgz``; None when the job uses none."""
    options = job_options(job.get("jobParameters"))
    lib = _first(options, "-l", "--libTgz")
    if lib and not _unsubstituted(lib):
        return lib
    for lfn in _files(job, "input"):
        if lfn.endswith("lib.tgz"):
            return lfn
    return None


def needs_build_job(job):
    """True when a run job gets its user code only through a build job (``-l`` / a ``lib.tgz`` input, no ``-a``)."""
    if is_build_job(job):
        return False
    options = job_options(job.get("jobParameters"))
    if _first(options, "-a"):
        return False
    return bool(options.get("-l") or options.get("--libTgz") or lib_file_of(job))


def build_job_matches(run_job, candidate):
    """Whether ``candidate`` is the build job of ``run_job``: a build job, same user, and (when both sides name
    files) producing the lib file the run job reads."""
    if not is_build_job(candidate):
        return False
    user = run_job.get("prodUserName")
    if user and candidate.get("prodUserName") and candidate.get("prodUserName") != user:
        return False
    lib = lib_file_of(run_job)
    outputs = _files(candidate, "output")
    if lib and outputs:
        return lib in outputs
    out_option = _first(job_options(candidate.get("jobParameters")), "-o")
    if lib and out_option and not _unsubstituted(out_option):
        return out_option == lib
    # no file names to compare: accept only within the same JEDI task or job set
    for key in ("jediTaskID", "jobsetID"):
        if run_job.get(key) and run_job.get(key) == candidate.get(key):
            return True
    return False


def _source_url(options):
    surl = _first(options, "--sourceURL")
    if surl is None:
        return None, "no --sourceURL in jobParameters"
    if _unsubstituted(surl):
        return None, "--sourceURL is %s (not substituted by JEDI)" % surl
    if not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/\s]+", surl):
        return None, "--sourceURL %r is not a URL" % surl
    return surl.rstrip("/"), None


def _cache_url(surl, name):
    return "%s/cache/%s" % (surl, name)


def payload_urls(job, build_job=None):
    """``(urls, reason)``: where the user code of ``job`` can be downloaded, or why it cannot be told.

    - build job: ``<sourceURL>/cache/<sandbox>`` for the ``-i`` sandbox;
    - run job with ``-a <archive>`` (prun, pathena ``--noBuild``): ``<sourceURL>/cache/<archive>``;
    - run job depending on a build job (``-l`` / ``lib.tgz`` input, no ``-a``): the build job's ``-i`` sandbox,
      if ``build_job`` is given and is that build job. For such run jobs ``-i`` lists input data, never code.

    ``urls`` is empty when nothing can be said for sure; ``reason`` always explains the answer.
    """
    params = job.get("jobParameters")
    if not params:
        return [], "no jobParameters in the job record (the monitor keeps them only a few days)"
    options = job_options(params)
    if is_build_job(job):
        surl, why = _source_url(options)
        if why:
            return [], "build job: %s" % why
        sandbox = _first(options, "-i")
        if not sandbox:
            return [], "build job without a -i sandbox in jobParameters"
        if _unsubstituted(sandbox):
            return [], "build job: -i is %s (not substituted)" % sandbox
        names = [name for name in sandbox.split(",") if name]
        return [_cache_url(surl, name) for name in names], "build job: sandbox given with -i"
    archive = _first(options, "-a")
    if archive:
        surl, why = _source_url(options)
        if why:
            return [], "run job with -a %s, but %s" % (archive, why)
        if _unsubstituted(archive):
            return [], "run job: -a is %s (not substituted)" % archive
        return [_cache_url(surl, archive)], "run job: user archive given with -a"
    if not needs_build_job(job):
        return [], "no -a archive and no build job (no -l option, no lib.tgz input file) in jobParameters"
    lib = lib_file_of(job)
    if build_job is None:
        return [], "run job without -a: the user code comes from its build job (lib %s), which was not found" % (
            lib or "-l ${LIB}")
    if not build_job_matches(job, build_job):
        return [], "run job without -a: job %s is not its build job (lib %s)" % (build_job.get("PandaID"), lib)
    urls, why = payload_urls(build_job)
    if not urls:
        return [], "run job without -a: build job %s: %s" % (build_job.get("PandaID"), why)
    return urls, "run job without -a: sandbox of build job %s (-i)" % build_job.get("PandaID")


def job_summary(job, build_job=None):
    """The fields a site asks for, datetimes as UTC ISO 8601 with ``Z``, plus ``payload_urls`` and
    ``payload_url_reason`` (and ``payload_exec``, the prun ``-p`` command, when present)."""
    job = normalize_job(job)
    summary = {}
    for name in SUMMARY_FIELDS:
        value = job.get(name)
        if name in _DATETIME_FIELDS:
            value = utc_iso(value)
        summary[name] = value
    options = job_options(job.get("jobParameters"))
    summary["payload_exec"] = _first(options, "-p")
    summary["is_build_job"] = is_build_job(job)
    summary["taskBufferErrorDiag"] = job.get("taskBufferErrorDiag")
    urls, reason = payload_urls(job, build_job)
    summary["payload_urls"] = urls
    summary["payload_url_reason"] = reason
    return summary
