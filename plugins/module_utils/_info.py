# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What the five ``*_info`` modules share: their options, and the translation of those
options into one EM query that filters on the server.

Everything here is a pure function of the module parameters (and of "now" for relative
ages) so that the unit tests can call it directly; the modules only wire it to
:class:`EMClient` and ``exit_json``.  Bad input raises :class:`EMQueryError` naming the
option and the value, before any request is sent.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re
from urllib.parse import quote

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMError, EMNotFoundError, EMQueryError, to_fail_json_kwargs
from ansible_collections.opsbox.veeam_em.plugins.module_utils._query import predicate
from ansible_collections.opsbox.veeam_em.plugins.module_utils._records import JOB_STATES, RESULTS, TASK_STATES
from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import UTC, parse_timestamp
from ansible_collections.opsbox.veeam_em.plugins.module_utils._vm_latest import (
    RECENT_SPANS, Window, part_bounds, part_predicates, read_latest_per_vm,
)

_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_UID = re.compile(r"^urn:veeam:([A-Za-z]+):([0-9a-fA-F-]+)$")
_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$", re.IGNORECASE)
_AGE_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
# How many parent session UIDs go into one OR group when task sessions are attached: about
# 60 characters each once quoted and URL-encoded, so 40 keep the URL near 3 KB, well inside
# what HTTP.sys accepts (16 KB) while still cutting the request count by a factor of 40.
TASK_BATCH_SIZE = 40
# Longest percent-encoded exclusion list sent with the older read; HTTP.sys refuses request lines
# over 16 KB and the user's own filter must fit too. Beyond it the older read is not narrowed.
LATEST_EXCLUSION_LENGTH = 8000

SORT_CHOICES = ("newest_first", "oldest_first")

# The options every *_info module has besides the connection options.
COMMON_OPTIONS = dict(
    id=dict(type="str"),
    name=dict(type="str"),
    backup_server=dict(type="str"),
    result=dict(type="list", elements="str"),
    state=dict(type="list", elements="str"),
    created_after=dict(type="str"),
    created_before=dict(type="str"),
    filter=dict(type="str"),
    latest=dict(type="bool", default=False),
    limit=dict(type="int"),
    sort=dict(type="str", choices=list(SORT_CHOICES), default="newest_first"),
)

# Options that select records; none of them may be combined with ``id``.
_COMMON_SELECTORS = ("name", "backup_server", "result", "state", "created_after", "created_before", "filter")


class InfoSpec:
    """How one module maps its options onto EM query types.

    *resources*: ``{session_type: EM type}``; *selectors*: ``{option: filter field}`` for the
    module's own list/str options, compared with ``==``; *latest_key*: the fact keys that
    identify "the same thing" for ``latest``; *result_on_server*: False where EM does not
    document ``Result`` as a filter field (CDP task sessions), so that it is applied here.
    """

    def __init__(self, return_key, resources, selectors, latest_key, states, result_on_server=True, flags=None,
                 latest_owner=None):
        self.return_key = return_key
        self.resources = resources
        self.selectors = selectors
        self.latest_key = latest_key
        self.states = states
        self.result_on_server = result_on_server
        self.flags = flags or {}
        # (fact, filter field) of the job or policy that, with the backup server, makes latest_key;
        # None where the key holds a VM name (EM compares names case-insensitively, so a name
        # cannot be excluded exactly).
        self.latest_owner = latest_owner

    def selector_options(self):
        """Every option that narrows the records (and so excludes ``id``)."""
        return _COMMON_SELECTORS + tuple(self.selectors) + tuple(self.flags)


SPECS = {
    "replica_session_info": InfoSpec(
        "replica_sessions", {"replica": "ReplicaJobSession"}, {"job_name": "JobName"},
        ("backup_server_uid", "job_uid"), JOB_STATES, flags={"is_retry": "IsRetry"}, latest_owner=("job_uid", "JobUid")),
    "backup_session_info": InfoSpec(
        "backup_sessions", {"backup": "BackupJobSession"}, {"job_name": "JobName", "job_type": "JobType"},
        ("backup_server_uid", "job_uid"), JOB_STATES, flags={"is_retry": "IsRetry"}, latest_owner=("job_uid", "JobUid")),
    "task_session_info": InfoSpec(
        "task_sessions", {"replica": "ReplicaTaskSession", "backup": "BackupTaskSession"},
        {"vm_name": "VmDisplayName", "job_name": "JobName", "job_session_uid": "JobSessionUid"},
        ("session_type", "backup_server_uid", "vm_name"), TASK_STATES),
    "cdp_session_info": InfoSpec(
        "cdp_sessions", {"cdp": "CdpReplicaSession"}, {"policy_name": "PolicyName"},
        ("backup_server_uid", "policy_uid"), JOB_STATES, latest_owner=("policy_uid", "PolicyUid")),
    "cdp_task_session_info": InfoSpec(
        "cdp_task_sessions", {"cdp": "CdpReplicaTaskSession"},
        {"vm_name": "VmDisplayName", "policy_session_uid": "PolicySessionUid", "policy_session_name": "PolicySessionName"},
        ("backup_server_uid", "vm_name"), TASK_STATES, result_on_server=False),
}


def _fail(option, value, reason):
    raise EMQueryError("%s: %r %s" % (option, value, reason), hint="fix the %s option" % option)


def parse_moment(option, value, now):
    """``created_after``/``created_before``: ISO 8601 date or date-time (zone-less is UTC), or an age.

    An age such as ``90m``, ``24h``, ``7d`` or ``2w`` means "that long before *now*".
    Returns an aware UTC datetime.
    """
    text = str(value).strip()
    age = _AGE.match(text)
    if age:
        return now - datetime.timedelta(seconds=int(age.group(1)) * _AGE_SECONDS[age.group(2).lower()])
    try:
        moment = parse_timestamp(text)
    except ValueError:
        moment = None
    if moment is None:
        _fail(option, value, "is neither an ISO 8601 date or date-time (2026-11-20, 2026-11-20T06:00:00Z) "
                             "nor an age such as 90m, 24h or 7d")
    return moment


def canonical_choices(option, values, allowed):
    """Case-insensitive choice check returning EM's spelling, e.g. ``failed`` -> ``Failed``."""
    spelling = dict((item.lower(), item) for item in allowed)
    canonical = []
    for value in values:
        key = str(value).strip().lower()
        if key not in spelling:
            _fail(option, value, "is not one of %s" % ", ".join(allowed))
        if spelling[key] not in canonical:
            canonical.append(spelling[key])
    return canonical


def parse_id(value, resources):
    """A bare GUID, or a UID ``urn:veeam:<Type>:<guid>`` of one of *resources*' types.

    Returns ``(types_to_try, guid)``.  Anything else (including text that could steer the
    request path, such as ``../logonSessions``) is refused here.
    """
    text = str(value).strip()
    if _GUID.match(text):
        return list(resources.items()), text.lower()
    match = _UID.match(text)
    if match and _GUID.match(match.group(2)):
        wanted = [(kind, name) for kind, name in resources.items() if name.lower() == match.group(1).lower()]
        if not wanted:
            _fail("id", value, "is a UID of type %s; this module reads %s" % (match.group(1), " and ".join(resources.values())))
        return wanted, match.group(2).lower()
    _fail("id", value, "is not a GUID (8-4-4-4-12 hex digits) nor a UID such as urn:veeam:%s:<guid>" % list(resources.values())[0])
    return None  # not reached: _fail raises


def check_id_alone(params, spec):
    """``id`` names one record; combining it with filter options is a mistake worth saying."""
    if params.get("id") is None:
        return
    given = [option for option in spec.selector_options() if params.get(option) not in (None, [], "")]
    if params.get("latest"):
        given.append("latest")
    if given:
        raise EMQueryError("id cannot be combined with %s: id already names one record" % ", ".join(given),
                           hint="remove id, or remove the filter options")


# What ``latest_per_vm`` combines with: the window, the backup server, the jobs and the kind of task
# session narrow what is read without changing which records of a VM are "its newest". Everything else
# would pick records among the three per VM (result, state, filter), cut the answer (limit), change its
# order (sort) or duplicate what the option does (latest, id); vm_name and the session UID/name options
# select a few records, which plain reads already serve cheaply.
LATEST_PER_VM_OPTIONS = ("created_after", "created_before", "backup_server", "job_name", "session_type")


def check_latest_per_vm(params, spec):
    """With ``latest_per_vm``, refuse the options it cannot be combined with, and require ``created_after``."""
    if not params.get("latest_per_vm"):
        return
    given = [option for option in ("id",) + spec.selector_options() + ("latest", "limit")
             if option not in LATEST_PER_VM_OPTIONS and params.get(option) not in (None, [], "", False)]
    if params.get("sort", "newest_first") != "newest_first":
        given.append("sort=%s" % params["sort"])
    if given:
        raise EMQueryError("latest_per_vm cannot be combined with %s: latest_per_vm returns, per VM, the newest, the "
                           "newest completed and the newest successful task session of the window, newest first"
                           % ", ".join(given),
                           hint="remove %s, or remove latest_per_vm" % ", ".join(given))
    if not params.get("created_after"):
        raise EMQueryError("latest_per_vm needs created_after: the window the newest task sessions are taken from",
                           hint="set created_after, for example 7d")


def latest_per_vm_window(params, now):
    """The :class:`Window` of a ``latest_per_vm`` read: ``created_after`` to ``created_before`` (default *now*)."""
    since = parse_moment("created_after", params["created_after"], now)
    until = parse_moment("created_before", params["created_before"], now) if params.get("created_before") else now
    if since > until:
        raise EMQueryError("created_after (%s) is later than created_before (%s)" % (params["created_after"], params["created_before"]),
                           hint="swap them, or widen the window")
    jobs = params.get("job_name") or []
    if any(job is None or str(job) == "" for job in jobs):
        _fail("job_name", jobs, "holds an empty value")
    servers = [params["backup_server"]] if params.get("backup_server") else []
    return Window(since, until, servers, jobs)


def fetch_latest_per_vm(client, params, spec, kinds, now):
    """Per VM and kind, the task sessions its newest results need, newest first (see ``_vm_latest``)."""
    window = latest_per_vm_window(params, now)
    streams = []
    for kind in kinds:
        tasks = read_latest_per_vm(client, kind, window)["tasks"]
        streams.append([tag_fact(fact, kind, spec) for fact in tasks])
    return merge_sorted(streams, True) if len(streams) > 1 else streams[0]


def build_predicates(params, spec, now):
    """``(predicates, results_to_keep_here)`` for one query from the module parameters.

    *predicates* is the list of ``(field, operator, value)`` triples the client turns into
    EM's filter.  *results_to_keep_here* is None unless ``result`` must be applied on this
    side because EM does not filter that type by result.
    """
    predicates = []
    if params.get("name"):
        predicates.append(("Name", "==", params["name"]))
    if params.get("backup_server"):
        predicates.append(("BackupServerName", "==", params["backup_server"]))
    for option, field in spec.selectors.items():
        value = params.get(option)
        if value in (None, [], ""):
            continue
        if isinstance(value, list) and any(item is None or str(item) == "" for item in value):
            _fail(option, value, "holds an empty value")
        predicates.append((field, "==", value))
    for option, field in spec.flags.items():
        if params.get(option) is not None:
            predicates.append((field, "==", bool(params[option])))
    states = params.get("state")
    if states:
        predicates.append(("State", "==", canonical_choices("state", states, spec.states)))
    results = canonical_choices("result", params["result"], RESULTS) if params.get("result") else None
    if results and spec.result_on_server:
        predicates.append(("Result", "==", results))
        results = None
    after = parse_moment("created_after", params["created_after"], now) if params.get("created_after") else None
    before = parse_moment("created_before", params["created_before"], now) if params.get("created_before") else None
    if after is not None and before is not None and after > before:
        raise EMQueryError("created_after (%s) is later than created_before (%s)" % (params["created_after"], params["created_before"]),
                           hint="swap them, or widen the window")
    if after is not None:
        predicates.append(("CreationTime", ">=", after))
    if before is not None:
        predicates.append(("CreationTime", "<=", before))
    return predicates, results


def check_limit(params):
    """``limit`` must be a positive whole number when given."""
    limit = params.get("limit")
    if limit is not None and limit < 1:
        _fail("limit", limit, "must be 1 or more")
    return limit


def sort_order(params):
    """The EM sort for the ``sort`` option: newest first unless asked otherwise."""
    return "-CreationTime" if params.get("sort", "newest_first") == "newest_first" else "CreationTime"


def creation_key(fact):
    """Sort key of a fact by creation time (facts carry fixed-width ISO strings)."""
    return fact.get("creation_time") or ""


def merge_sorted(streams, newest_first):
    """Merge lists of facts that are each sorted by creation time into one sorted list."""
    merged = [fact for stream in streams for fact in stream]
    merged.sort(key=creation_key, reverse=newest_first)
    return merged


def keep_latest(facts, key_fields, newest_first):
    """The newest fact per key; *facts* must be sorted newest first. Keeps the requested order."""
    seen = set()
    kept = []
    for fact in facts:
        key = tuple(fact.get(field) for field in key_fields)
        if key in seen:
            continue
        seen.add(key)
        kept.append(fact)
    if not newest_first:
        kept.reverse()
    return kept


def summarize(facts):
    """Totals a play can test without looping: count, by result and by state."""
    by_result = {}
    by_state = {}
    for fact in facts:
        result = fact.get("result") or "None"
        state = fact.get("state") or "None"
        by_result[result] = by_result.get(result, 0) + 1
        by_state[state] = by_state.get(state, 0) + 1
    return {"total": len(facts), "by_result": by_result, "by_state": by_state}


def batches(items, size=TASK_BATCH_SIZE):
    """Split *items* into lists of at most *size*."""
    items = list(items)
    return [items[start:start + size] for start in range(0, len(items), size)]


def utc_now():
    """The current time, aware, in UTC."""
    return datetime.datetime.now(UTC)


def info_argument_spec(module_options):
    """The full argument spec of an info module: connection, common and its own options."""
    # Imported here so that the pure functions above stay importable without the client's
    # third-party libraries (the unit tests of this file need neither requests nor xmltodict).
    from ansible_collections.opsbox.veeam_em.plugins.module_utils._arguments import connection_argument_spec

    spec = connection_argument_spec()
    spec.update(COMMON_OPTIONS)
    spec.update(module_options)
    return spec


def tag_fact(fact, session_type, spec):
    """Say which kind of session a fact is when a module reads several EM types."""
    if len(spec.resources) > 1:
        fact["session_type"] = session_type
    return fact


def fetch_by_id(client, params, spec, kinds):
    """The one record ``id`` names, or an empty list when EM does not know it."""
    wanted, guid = parse_id(params["id"], dict((kind, spec.resources[kind]) for kind in kinds))
    for kind, resource in wanted:
        try:
            return [tag_fact(client.get_by_id(resource, guid), kind, spec)]
        except EMNotFoundError:
            continue
    return []


def latest_splits(predicates, now):
    """The instants, newest first, that split a ``latest`` read into parts; empty for one read.

    ``latest`` reads the inventory's recent spans (``_vm_latest.RECENT_SPANS``) first, the
    shortest first: a job that ran in a span has its newest session there, so each older
    part is read only for the jobs not seen yet (two days read whole held 1,226 sessions
    for 60 jobs in the benchmark's fleet). Only the instants ``now - span`` inside the
    window the predicates leave split it.
    """
    splits = []
    for span in RECENT_SPANS:
        split = now - span
        if not any(field == "CreationTime" and ((op == ">=" and value >= split) or (op == "<=" and value < split))
                   for field, op, value in predicates):
            splits.append(split)
    return splits


def older_exclusion(resource, recent, spec):
    """A raw filter for the older part of a ``latest`` read: only jobs (policies) absent from *recent*.

    One OR-group per backup server seen (its other jobs), one for the servers not seen. None
    when it cannot be exact (a fact without a server or job UID) or would not fit in a URL.
    """
    fact_name, field = spec.latest_owner
    owners = {}
    for fact in recent:
        server, owner = fact.get("backup_server_uid"), fact.get(fact_name)
        if not server or not owner:
            return None
        owners.setdefault(server, set()).add(owner)
    if not owners:
        return None
    groups = ["(%s;%s)" % (predicate(resource, "BackupServerUid", "==", server),
                           predicate(resource, field, "!=", sorted(owners[server])))
              for server in sorted(owners)]
    groups.append("(%s)" % predicate(resource, "BackupServerUid", "!=", sorted(owners)))
    text = ",".join(groups)
    if len(quote(text, safe="")) > LATEST_EXCLUSION_LENGTH:
        return None
    return text


def fetch_latest_candidates(client, resource, predicates, raw_filter, spec, now):
    """Newest first, the records ``latest`` keeps and as few others as EM's filters allow.

    The newest part (the shortest recent span) is read whole; each older part only for the
    jobs (policies) not seen in the newer ones. Every job's newest session is in the first
    part that holds a session of the job, so :func:`keep_latest` gives the same answer as
    over everything.
    """
    splits = latest_splits(predicates, now) if spec.latest_owner else []
    if not splits:
        return list(client.query(resource, predicates, raw_filter, "-CreationTime"))
    facts = []
    for newer, older in part_bounds(splits):
        part = list(predicates) + part_predicates(newer, older)
        exclusion = older_exclusion(resource, facts, spec)
        if exclusion and raw_filter and str(raw_filter).strip():
            exclusion = "(%s);(%s)" % (str(raw_filter).strip(), exclusion)
        elif not exclusion:
            exclusion = raw_filter
        facts.extend(client.query(resource, part, exclusion, "-CreationTime"))
    return facts


def fetch_matching(client, params, spec, kinds, now):
    """Every record the options select, sorted, with ``latest`` and ``limit`` applied."""
    predicates, results_here = build_predicates(params, spec, now)
    limit = check_limit(params)
    newest_first = params.get("sort", "newest_first") == "newest_first"
    # EM stops after `limit` records only when nothing is dropped on this side afterwards.
    server_limit = None if params.get("latest") or results_here else limit
    streams = []
    for kind in kinds:
        if params.get("latest") and spec.latest_owner and not results_here:
            facts = fetch_latest_candidates(client, spec.resources[kind], predicates, params.get("filter"), spec, now)
            streams.append([tag_fact(fact, kind, spec) for fact in (facts if newest_first else facts[::-1])])
            continue
        facts = client.query(spec.resources[kind], predicates, params.get("filter"), sort_order(params), server_limit)
        if results_here:
            facts = (fact for fact in facts if (fact.get("result") or "None") in results_here)
        streams.append([tag_fact(fact, kind, spec) for fact in facts])
    facts = merge_sorted(streams, newest_first) if len(streams) > 1 else streams[0]
    if params.get("latest"):
        facts = keep_latest(facts if newest_first else facts[::-1], spec.latest_key, newest_first)
    return facts[:limit] if limit else facts


def attach_tasks(client, facts):
    """Put each replica job session's task sessions under ``tasks``, in few batched queries."""
    by_parent = dict((fact["uid"], []) for fact in facts)
    for batch in batches(list(by_parent)):
        for task in client.query("ReplicaTaskSession", [("JobSessionUid", "==", batch)], sort="CreationTime"):
            by_parent.setdefault(task.get("job_session_uid"), []).append(task)
    for fact in facts:
        fact["tasks"] = by_parent.get(fact["uid"], [])


def selected_kinds(params, spec):
    """The session types (keys of ``spec.resources``) the ``session_type`` option asks for."""
    session_type = params.get("session_type") or "all"
    return list(spec.resources) if session_type == "all" else [session_type]


def validate_options(params, module_name, now):
    """Every check of the options that needs no server; raises EMQueryError naming the option."""
    spec = SPECS[module_name]
    check_latest_per_vm(params, spec)
    check_id_alone(params, spec)
    if params.get("latest_per_vm"):
        latest_per_vm_window(params, now)
    elif params.get("id") is not None:
        parse_id(params["id"], dict((kind, spec.resources[kind]) for kind in selected_kinds(params, spec)))
    else:
        build_predicates(params, spec, now)
        check_limit(params)


def collect(client, params, module_name, now):
    """The records and summary an info module returns, as ``{return_key: [...], 'summary': {...}}``."""
    spec = SPECS[module_name]
    check_latest_per_vm(params, spec)
    check_id_alone(params, spec)
    kinds = selected_kinds(params, spec)
    if params.get("latest_per_vm"):
        facts = fetch_latest_per_vm(client, params, spec, kinds, now)
    elif params.get("id") is not None:
        facts = fetch_by_id(client, params, spec, kinds)
    else:
        facts = fetch_matching(client, params, spec, kinds, now)
    if params.get("include_tasks"):
        attach_tasks(client, facts)
    return {spec.return_key: facts, "summary": summarize(facts)}


def run_info_module(module, module_name):
    """Everything an info module does after building its AnsibleModule: query, then exit or fail."""
    from ansible_collections.opsbox.veeam_em.plugins.module_utils._arguments import client_kwargs, fail_on_missing_libraries
    from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient

    fail_on_missing_libraries(module)
    warnings = []
    try:
        # Options are checked before the client exists, so bad input never costs a logon.
        validate_options(module.params, module_name, utc_now())
        client = EMClient(**client_kwargs(module.params))
        with client:
            result = collect(client, module.params, module_name, utc_now())
        warnings = client.warnings
    except EMError as exc:
        module.fail_json(**to_fail_json_kwargs(exc))
    for warning in warnings:
        module.warn(warning)
    module.exit_json(changed=False, **result)
