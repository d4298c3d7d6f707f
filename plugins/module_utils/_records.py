# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Canonical EM records into the flat snake_case facts the modules return.

Facts are the same whatever the wire format was.  Conventions:

* times are UTC ISO 8601 with six fraction digits and ``Z``; ``end_time`` and
  ``duration_seconds`` are None while a session runs;
* ``reason`` and ``failure_message`` are None when EM gives none (XML ``<Reason />``,
  JSON ``""`` or ``null`` all become None);
* ``backup_server_*``, ``job_*`` and parent session facts fall back to the ``Up``
  links when the record has no field for them;
* fields this module does not know are kept under their snake_case names.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

from ansible_collections.opsbox.veeam_em.plugins.module_utils._codec import href_id
from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import fact_time

JOB_STATES = ("Starting", "Stopping", "Working", "Pausing", "Resuming", "Stopped")
TASK_STATES = ("InProgress", "Pending", "Completed")
RESULTS = ("Success", "Warning", "Failed", "None")
_ENUM_SPELLING = dict((value.lower(), value) for value in JOB_STATES + TASK_STATES + RESULTS)

_COMMON = ("uid", "id", "name", "type", "creation_time", "end_time", "duration_seconds", "state", "result",
           "backup_server_name", "backup_server_uid")
_JOB = ("job_uid", "job_name", "job_type", "is_retry", "progress", "failure_message")
_TASK = ("vm_name", "vm_uid", "job_session_uid", "job_session_name", "reason", "total_size")
FACT_KEYS = {
    "BackupJobSession": _COMMON + _JOB,
    "ReplicaJobSession": _COMMON + _JOB,
    "BackupTaskSession": _COMMON + _TASK,
    "ReplicaTaskSession": _COMMON + _TASK,
    "CdpReplicaSession": _COMMON + ("policy_uid", "policy_name", "policy_type", "progress", "is_retry", "failure_message"),
    "CdpReplicaTaskSession": _COMMON + ("vm_name", "policy_session_uid", "policy_session_name", "reason", "total_size"),
}

# Wire fields turned into facts by normalize(); everything else is an "extra".
_CONSUMED = frozenset((
    "UID", "Name", "Href", "Type", "Links", "CreationTimeUTC", "EndTimeUTC", "CreationTime", "EndTime", "State",
    "Result", "JobUid", "JobName", "JobType", "IsRetry", "Progress", "FailureMessage", "VmDisplayName", "VmUid",
    "JobSessionUid", "Reason", "TotalSize", "PolicyUid", "PolicyName", "PolicyType", "PolicySessionUid",
))
_PARENT_SESSION_LINKS = ("BackupJobSessionReference", "ReplicaJobSessionReference")

_SNAKE_1 = re.compile(r"([A-Z]+)([A-Z][a-z])")
_SNAKE_2 = re.compile(r"([a-z0-9])([A-Z])")


_SNAKE_CACHE = {}
_SNAKE_CACHE_LIMIT = 1024


def snake_case(name):
    """``CreationTimeUTC`` -> ``creation_time_utc``, ``VmDisplayName`` -> ``vm_display_name``."""
    return _SNAKE_2.sub(r"\1_\2", _SNAKE_1.sub(r"\1_\2", name)).replace("-", "_").lower()


def _snake_cached(name):
    """:func:`snake_case` remembered for the few unknown keys a server sends on every record (bounded)."""
    known = _SNAKE_CACHE.get(name)
    if known is None:
        known = snake_case(name)
        if len(_SNAKE_CACHE) < _SNAKE_CACHE_LIMIT:
            _SNAKE_CACHE[name] = known
    return known


def _text(value):
    if value is None:
        return None
    if value.__class__ is not str:
        if isinstance(value, dict):  # an XML element that carried attributes next to its text
            value = value.get("#text")
            if value is None:
                return None
        value = str(value)
    return value if value and not value.isspace() else None


def _integer(value):
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    text = _text(value)
    if text is None:
        return None
    try:
        return int(text)
    except ValueError:
        try:
            return int(float(text))
        except ValueError:
            return None


def _boolean(value):
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    text = _text(value)
    if text is None:
        return None
    lowered = text.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    return None


def _enum(value):
    text = _text(value)
    if text is None:
        return None
    return _ENUM_SPELLING.get(text.lower(), text)


def _time(value):
    """``(aware datetime, fact string)``, or ``(None, None)`` when absent or not a timestamp."""
    text = _text(value)
    if text is None:
        return None, None
    return fact_time(text)


def bare_id(uid):
    """The GUID at the end of ``urn:veeam:<Type>:<guid>`` (the ``{ID}`` of URLs)."""
    if not uid:
        return None
    return uid.rsplit(":", 1)[-1]


def _up_links(links):
    """``{link Type: (position, link)}`` of the first ``Up`` link of each type, in one pass over the links."""
    found = {}
    position = 0
    for link in links or ():
        position += 1
        rel = link.get("Rel")
        if rel and (rel == "Up" or rel.lower() == "up"):
            kind = link.get("Type")
            if kind not in found:
                found[kind] = (position, link)
    return found


def _up(found, *types):
    """``(uid, name)`` of the object the first ``Up`` link of one of *types* points at, or ``(None, None)``.

    *found* comes from :func:`_up_links`. The UID is written in EM's documented
    ``urn:veeam:<Type>:<guid>`` form from the link's type and the GUID at the end of its Href.
    """
    best = None
    for kind in types:
        item = found.get(kind)
        if item is not None and (best is None or item[0] < best[0]):
            best = item
    if best is None:
        return None, None
    link = best[1]
    guid = href_id(link.get("Href"))
    kind = link["Type"][:-len("Reference")] if link["Type"].endswith("Reference") else link["Type"]
    return ("urn:veeam:%s:%s" % (kind, guid) if guid else None), link.get("Name")


def record_type(record, type_hint=None):
    """EM type of a canonical record: its ``Type``, else the type inside its UID, else *type_hint*."""
    kind = _text(record.get("Type"))
    if kind:
        return kind[:-len("Reference")] if kind.endswith("Reference") else kind
    uid = _text(record.get("UID"))
    if uid and uid.count(":") >= 3:
        return uid.split(":")[2]
    return type_hint


def normalize(record, type_hint=None):
    """Flat snake_case facts for one canonical record (see the module docstring)."""
    get = record.get
    links = _up_links(get("Links"))
    kind = record_type(record, type_hint)
    uid = _text(get("UID"))
    created, creation_time = _time(get("CreationTimeUTC", get("CreationTime")))
    ended, end_time = _time(get("EndTimeUTC", get("EndTime")))
    facts = {
        "uid": uid,
        "id": bare_id(uid) or href_id(get("Href")),
        "name": _text(get("Name")),
        "type": kind,
        "creation_time": creation_time,
        "end_time": end_time,
        "duration_seconds": round((ended - created).total_seconds(), 3) if created and ended else None,
        "state": _enum(get("State")),
        "result": _enum(get("Result")),
        "job_type": _text(get("JobType")),
        "is_retry": _boolean(get("IsRetry")),
        "progress": _integer(get("Progress")),
        "failure_message": _text(get("FailureMessage")),
        "vm_name": _text(get("VmDisplayName")),
        "vm_uid": _text(get("VmUid")),
        "reason": _text(get("Reason")),
        "total_size": _integer(get("TotalSize")),
        "policy_type": _text(get("PolicyType")),
    }

    facts["backup_server_uid"], facts["backup_server_name"] = _up(links, "BackupServerReference")
    job_uid, job_name = _up(links, "JobReference")
    facts["job_uid"] = _text(get("JobUid")) or job_uid
    facts["job_name"] = _text(get("JobName")) or job_name
    parent_uid, facts["job_session_name"] = _up(links, *_PARENT_SESSION_LINKS)
    facts["job_session_uid"] = _text(get("JobSessionUid")) or parent_uid
    policy_uid, policy_name = _up(links, "CdpPolicyReference")
    facts["policy_uid"] = _text(get("PolicyUid")) or policy_uid
    facts["policy_name"] = _text(get("PolicyName")) or policy_name
    policy_session_uid, facts["policy_session_name"] = _up(links, "CdpReplicaSessionReference")
    facts["policy_session_uid"] = _text(get("PolicySessionUid")) or policy_session_uid

    wanted = FACT_KEYS.get(kind)
    if wanted is None:
        result = {key: value for key, value in facts.items() if value is not None or key in _COMMON}
    else:
        result = {key: facts[key] for key in wanted}
        for key, value in facts.items():
            if value is not None and key not in result:
                result[key] = value

    for key, value in record.items():
        if key in _CONSUMED or key.startswith("#"):
            continue
        name = _snake_cached(key)
        if name not in result:
            result[name] = value
    return result
