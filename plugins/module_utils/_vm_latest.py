# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Read, per VM, the task sessions its newest results need: two strategies, one answer.

The inventory plugin and the ``latest_per_vm`` option of the task session modules read
through this file; it lives in module_utils because modules cannot import plugin_utils.

A VM (identified by backup server name and VM name) has, per source, a *last result*:
the result of its newest task session created in the window, across jobs and retries.
Besides it the inventory keeps the newest completed and the newest successful task
session of the window.

``full_scan`` reads every task session of the window. ``fast`` reads the same answer
with far fewer records:

1. the job (CDP: policy) sessions that overlap the window (ended in it or still running): for
   replication and backup jobs, those of the last six hours first, then those of the last
   two days (:data:`RECENT_SPANS`) and then the older ones, each part only of the jobs
   without a full run (see 2) in the newer parts;
2. per job, its sessions from the newest one down to the newest *full run* (not a retry,
   finished, and either Success/Warning or without a failure message, i.e. not stopped
   part-way), and the task sessions of exactly those sessions (of the oldest of them, only
   those of the VMs the newer ones did not settle, see :func:`oldest_run_groups`);
3. per job that has older sessions in the window, one query for the task sessions of
   the job whose VM is NOT among the VMs already seen in that job (VMs removed from the
   job, or missing from its recent runs), so nothing of the window is lost;
4. per VM whose newest completed or newest successful task session is still unknown,
   the completed task sessions older than what step 2 read (only the successful ones when
   that is all it lacks), newest first, and only until each VM of the request has both: in
   rounds of one small page per request, each round only for the VMs the previous one left
   lacking (see :meth:`Reader.history`).

Every step filters on the server (``JobSessionUid``/``JobUid``/``VmDisplayName`` groups
ORed into one request up to :data:`MAX_FILTER_LENGTH`), so the answer equals a full
scan's. The planning steps are pure functions, tested without a server.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from functools import partial
import threading
from urllib.parse import quote

from ansible_collections.opsbox.veeam_em.plugins.module_utils._query import build_filter, predicate

# Longest percent-encoded filter sent in one request. HTTP.sys (which serves EM) refuses
# request lines beyond 16 KB by default (MaxFieldLength / MaxRequestBytes); this leaves room
# for the rest of the URL. About 300 VM names of average length fit in one exclusion list.
MAX_FILTER_LENGTH = 12000

STRATEGIES = ("fast", "full_scan")
# Step 4 reads in rounds of one page per request, of this many records per VM of the request (at least
# HISTORY_MIN_PAGE, at most the client's page size); the VMs left after HISTORY_ROUNDS rounds are paged
# through. See Reader.history.
HISTORY_RECORDS_PER_VM = 2
HISTORY_MIN_PAGE = 50
HISTORY_ROUNDS = 4
# Step 1 of the fast strategy reads the job sessions of these recent spans first, the shortest first;
# a job with a full run in a span needs nothing older. Six hours hold a full run of most jobs that
# run several times a day (replication, as a rule), two days one of the daily jobs; each older part
# is read only for the jobs without a full run in the newer ones. Reading two days whole read 1,226
# replication sessions in the benchmark's fleet where 268 were needed.
RECENT_SPANS = (timedelta(hours=6), timedelta(days=2))


class Source:
    """One kind of task session the inventory reads, and the names it goes by."""

    def __init__(self, name, session_type, task_type, parent_key, job_key, job_name_key, job_filter, task_job_field):
        self.name = name
        self.session_type = session_type
        self.task_type = task_type
        self.parent_key = parent_key          # task fact naming its session
        self.job_key = job_key                # session fact naming its job / policy
        self.job_name_key = job_name_key
        self.job_filter = job_filter          # session filter field for job names
        self.task_job_field = task_job_field  # task filter field for the job uid (None for CDP)

    @property
    def parent_field(self):
        return "PolicySessionUid" if self.parent_key == "policy_session_uid" else "JobSessionUid"

    def __repr__(self):
        return "Source(%r)" % self.name


SOURCES = {
    "replica": Source("replica", "ReplicaJobSession", "ReplicaTaskSession", "job_session_uid", "job_uid", "job_name",
                      "JobName", "JobUid"),
    "backup": Source("backup", "BackupJobSession", "BackupTaskSession", "job_session_uid", "job_uid", "job_name",
                     "JobName", "JobUid"),
    "cdp": Source("cdp", "CdpReplicaSession", "CdpReplicaTaskSession", "policy_session_uid", "policy_uid",
                  "policy_name", "PolicyName", None),
}


class Window:
    """The time window ``[since, until]`` (aware datetimes) and what limits the read."""

    def __init__(self, since, until, backup_servers=None, jobs=None):
        self.since = since
        self.until = until
        self.backup_servers = list(backup_servers or [])
        self.jobs = list(jobs or [])


# ------------------------------------------------------------------------------ pure planning

def vm_key(task):
    """Identity of a VM: (backup server name, VM name), as EM reports them."""
    return (task.get("backup_server_name"), task.get("vm_name"))


def is_running(record):
    """True while a session or task session has not finished."""
    return record.get("end_time") is None or record.get("state") not in ("Completed", "Stopped")


def is_full_run(session):
    """A finished, non-retry session that processed every VM its job held (not stopped part-way)."""
    if session.get("is_retry") or is_running(session):
        return False
    return session.get("result") in ("Success", "Warning") or not session.get("failure_message")


def newest_first(records):
    """Records sorted newest first by creation time (uid breaks ties so the order is stable)."""
    return sorted(records, key=lambda item: (item.get("creation_time") or "", item.get("uid") or ""), reverse=True)


def session_filter(source, window):
    """(predicates, raw filter) for the job/policy sessions that can hold task sessions of the window.

    A task session is created between its session's start and end, so exactly the sessions
    that ended at or after ``since`` (or have not ended) can hold one.
    """
    predicates = [("CreationTime", "<=", window.until)]
    if window.backup_servers:
        predicates.append(("BackupServerName", "==", window.backup_servers))
    if window.jobs:
        predicates.append((source.job_filter, "==", window.jobs))
    raw = "%s,%s" % (predicate(source.session_type, "EndTime", ">=", window.since),
                     predicate(source.session_type, "State", "!=", "Stopped"))
    return predicates, raw


def task_predicates(source, window):
    """Predicates every task session query carries: the window, and the server / job limits."""
    predicates = [("CreationTime", ">=", window.since), ("CreationTime", "<=", window.until)]
    if window.backup_servers:
        predicates.append(("BackupServerName", "==", window.backup_servers))
    if window.jobs and source.task_job_field:
        predicates.append(("JobName", "==", window.jobs))
    return predicates


def plan_sessions(sessions, source, unread_jobs=()):
    """Split each job's sessions (newest first) into those to read now and the older rest.

    Returns ``{job: {"read": [session, ...], "rest": [session, ...], "cutoff": creation time
    of the oldest read session or None when nothing older is left}}``. The older sessions
    of *unread_jobs* were not read (see :func:`read_sessions`): those jobs keep a cutoff even
    with an empty rest, as if older sessions existed (if none do, the queries it leads to
    find nothing more).
    """
    by_job = {}
    for session in newest_first(sessions):
        by_job.setdefault(session.get(source.job_key), []).append(session)
    plan = {}
    for job, items in by_job.items():
        read = []
        for session in items:
            read.append(session)
            if is_full_run(session):
                break
        rest = items[len(read):]
        plan[job] = {"read": read, "rest": rest,
                     "cutoff": read[-1].get("creation_time") if rest or job in unread_jobs else None}
    return plan


def complete_jobs(sessions, source):
    """Jobs whose newest full run is among *sessions* (all of their sessions since some instant)."""
    return set(job for job, entry in plan_sessions(sessions, source).items()
               if job is not None and is_full_run(entry["read"][-1]))


def older_sessions_filter(source, window, jobs, budget=MAX_FILTER_LENGTH):
    """Raw filter for the job sessions before the recent span: the window's, minus *jobs*.

    Without an exclusion (nothing to exclude, or a list too long for one URL) it is the
    window's filter alone, which reads more but gives the same plan.
    """
    _predicates, raw = session_filter(source, window)
    if not jobs:
        return raw
    exclusion = predicate(source.session_type, source.task_job_field, "!=", sorted(jobs))
    combined = "(%s);%s" % (raw, exclusion)
    if _encoded_length(combined) > budget - 2000:
        return raw
    return combined


def _encoded_length(text):
    return len(quote(text, safe=""))


def pack(resource, groups, common, budget=MAX_FILTER_LENGTH):
    """Pack OR-groups of predicates into as few raw filters as the URL budget allows.

    *groups* is a list of predicate lists (each ANDed); a raw filter ORs whole groups.
    Returns ``[(raw filter, [group, ...]), ...]``: each filter with the groups it holds.
    A group alone over the budget still gets a request of its own (callers keep groups
    small enough, see :func:`plan_fallback`).
    """
    base = _encoded_length(build_filter(resource, common) or "") + 3
    packed = []
    texts, members = [], []
    size = base
    for group in groups:
        text = "(%s)" % ";".join(predicate(resource, *item) for item in group)
        length = _encoded_length(text) + 3
        if texts and size + length > budget:
            packed.append((",".join(texts), members))
            texts, members, size = [], [], base
        texts.append(text)
        members.append(group)
        size += length
    if texts:
        packed.append((",".join(texts), members))
    return packed


def pack_groups(resource, groups, common, budget=MAX_FILTER_LENGTH):
    """The raw filters of :func:`pack` alone."""
    return [raw for raw, _members in pack(resource, groups, common, budget)]


def session_groups(source, sessions):
    """One OR-group per session: its task sessions."""
    return [[(source.parent_field, "==", session["uid"])] for session in sessions]


def settled_names(tasks, after):
    """Names of the VMs in *tasks* (of one job) whose newest completed and successful ones are newer than *after*."""
    return set(key[1] for key, entry in summarize(tasks).items()
               if key[1] is not None and entry["completed"] is not None and entry["success"] is not None
               and min(entry["completed"]["creation_time"] or "", entry["success"]["creation_time"] or "") > after)


def oldest_run_groups(source, sessions, newer_tasks, sessions_by_uid, budget=None):
    """AND-groups for the task sessions of each of *sessions* (one per job) but of the VMs already settled.

    *newer_tasks* are the task sessions of the job's newer sessions. A VM whose newest completed
    and newest successful task sessions were created after the session ended is settled: none of
    the session's task sessions can be its newest, newest completed or newest successful one.
    A session without an end, or whose exclusion does not fit in a request, is read whole.
    """
    by_job = {}
    for task in newer_tasks:
        by_job.setdefault(_job_of(source, task, sessions_by_uid), []).append(task)
    groups = []
    for session in sessions:
        base = [(source.parent_field, "==", session["uid"])]
        end = session.get("end_time")
        names = settled_names(by_job.get(session.get(source.job_key), ()), end) if end else ()
        split = split_exclusion(source.task_type, base, names, budget or MAX_FILTER_LENGTH)
        groups.extend(split if split is not None else [base])
    return groups


def name_order(name):
    """Sort key close to EM's (SQL Server's) case-insensitive order of names; only efficiency depends on it."""
    return (name.casefold(), name)


def split_exclusion(resource, base, names, budget):
    """AND-groups that together match what ``base`` matches except the VMs named in *names*.

    One group ``base; VmDisplayName!=each name`` when it fits in a request. Otherwise the name
    axis is cut into consecutive ranges at known names (``VmDisplayName>=first`` of a range,
    ``VmDisplayName<first`` of the next), each range excluding the known names it holds. The
    ranges cover every possible name whatever order the server compares names in, so no VM is
    lost; if its order differs from :func:`name_order`, some known VMs come back too (the
    caller drops them), which costs records, not correctness. Returns None when a range of
    a single name does not fit (a name longer than a request), so the caller can read the
    older history without exclusion.
    """
    names = sorted(set(names), key=name_order)

    def text_of(group):
        return ";".join(predicate(resource, *item) for item in group)

    if not names:
        return [list(base)]
    whole = list(base) + [("VmDisplayName", "!=", names)]
    if _encoded_length(text_of(whole)) <= budget - 200:
        return [whole]
    # Greedy cut with additive sizes (percent-encoding is per character, so lengths add up; a
    # bound ">=name" or "<name" is no longer than the exclusion "!=name" of the same name).
    # Every group is measured exactly below.
    limit = budget - 200
    fixed = _encoded_length(text_of(base)) + 2 * _encoded_length("();")
    sizes = [_encoded_length(predicate(resource, "VmDisplayName", "!=", name) + ";") for name in names]

    def upper(end):
        return sizes[end] if end < len(names) else 0

    ranges = []
    start = 0
    while start < len(names):
        size = fixed + sizes[start] + sizes[start]  # lower bound and the first exclusion
        end = start + 1
        while end < len(names) and size + sizes[end] + upper(end + 1) <= limit:
            size += sizes[end]
            end += 1
        ranges.append((start, end))
        start = end
    groups = []
    for index, (start, end) in enumerate(ranges):
        group = _range_group(base, names, start, end)
        if index + 1 < len(ranges):
            group.append(("VmDisplayName", "<", names[end]))
        if _encoded_length(text_of(group)) > budget - 200:
            return None
        groups.append(group)
    return groups


def _range_group(base, names, start, end):
    group = list(base)
    if start > 0:
        group.append(("VmDisplayName", ">=", names[start]))
    group.append(("VmDisplayName", "!=", names[start:end]))
    return group


def plan_fallback(source, plan, known, budget=None):
    """AND-groups for the task sessions of older runs of VMs not seen in a job's recent runs.

    *known* maps job -> set of VM names read for that job. A job whose known names do not fit
    in one request is split into name ranges (:func:`split_exclusion`); only if even that
    cannot be done does it ask for its whole older history (``CreationTime < cutoff``). The
    caller drops the known VMs from the answer either way.
    """
    groups = []
    for job in sorted(plan, key=str):
        entry = plan[job]
        if entry["cutoff"] is None:
            continue
        if source.task_job_field:
            base = [(source.task_job_field, "==", job)]
        else:
            base = [(source.parent_field, "==", [session["uid"] for session in entry["rest"]])]
        names = [name for name in known.get(job, ()) if name is not None]
        split = split_exclusion(source.task_type, base, names, budget or MAX_FILTER_LENGTH)
        groups.extend(split if split is not None else [base + [("CreationTime", "<", entry["cutoff"])]])
    return groups


def summarize(tasks):
    """Per VM: its newest, newest completed and newest successful task session.

    Returns ``{vm_key: {"newest": task, "completed": task or None, "success": task or None}}``.
    """
    summary = {}
    seen = set()
    for task in newest_first(tasks):
        uid = task.get("uid")
        if uid in seen:
            continue
        seen.add(uid)
        entry = summary.setdefault(vm_key(task), {"newest": task, "completed": None, "success": None})
        if entry["completed"] is None and not is_running(task):
            entry["completed"] = task
        if entry["success"] is None and task.get("result") == "Success" and not is_running(task):
            entry["success"] = task
    return summary


def reduce_tasks(tasks):
    """The task sessions the inventory is built from: at most three per VM, newest first."""
    kept = {}
    for entry in summarize(tasks).values():
        for task in (entry["newest"], entry["completed"], entry["success"]):
            if task is not None:
                kept[task["uid"]] = task
    return newest_first(kept.values())


def plan_history(source, tasks, plan, known, sessions_by_uid):
    """Per backup server, OR-groups for VMs whose newest completed or successful task session is unknown.

    Everything of a VM newer than the latest cutoff among the incomplete jobs it was seen
    in has been read; older completed task sessions are asked for.
    """
    bounds = {}
    for job, entry in plan.items():
        if entry["cutoff"] is None:
            continue
        server = entry["read"][0].get("backup_server_name")
        for name in known.get(job, ()):
            key = (server, name)
            if bounds.get(key) is None or entry["cutoff"] > bounds[key]:
                bounds[key] = entry["cutoff"]
    groups = {}
    for key, entry in summarize(tasks).items():
        bound = bounds.get(key)
        lacking = still_lacking(entry, bound) if bound is not None else None
        if not lacking:
            continue
        # a VM that only lacks its newest success is asked for successes only: one that fails for days would
        # otherwise have all its failed runs read to reach it (or to learn that there is none)
        groups.setdefault(key[0], []).append([("VmDisplayName", "==", key[1]), ("CreationTime", "<", bound)]
                                             + ([("Result", "==", "Success")] if lacking == {"success"} else []))
    # VMs of close bounds side by side: a request then reads each of its VMs' older runs together, instead of
    # the runs of VMs with later bounds down to the bound of one that failed since long before
    return dict((server, sorted(items, key=lambda group: (str(group[1][2]), str(group[0][2]))))
                for server, items in groups.items())


def still_lacking(entry, bound):
    """Which of ``completed`` / ``success`` of a :func:`summarize` entry may still be older than the one known.

    Everything of the VM created at or after *bound* has been read, so a task known from there
    on is final. One known from before it (read by step 3 in a job the VM left) is not: a newer
    one may lie between it and the bound, in a job the VM is still in.
    """
    entry = entry or {"completed": None, "success": None}
    return set(name for name in ("completed", "success")
               if entry[name] is None or (entry[name].get("creation_time") or "") < bound)


def _group_time(group, op):
    """The value of the group's ``CreationTime <op>`` predicate, or None."""
    for field, item_op, value in group:
        if field == "CreationTime" and item_op == op:
            return value
    return None


def _group_bound(group):
    return _group_time(group, "<") or ""


def _group_server(group):
    for field, _op, value in group[1:]:
        if field == "BackupServerName":
            return value
    return None


def history_stop(summary, server, groups):
    """A ``stop(task)`` for one history request read newest first: True once it holds all it is for.

    *groups* are the request's groups from :func:`plan_history` (one VM of *server* each);
    *summary* is :func:`summarize` of what was read before. A VM needs its newest completed
    task session if that is still unknown, and its newest successful one likewise; the first
    completed (successful) record of a VM in this order is that one, because everything of
    the VM newer than the group's bound has been read already. Once no VM needs anything,
    the records created at the same instant as the last useful one are still read (EM's
    order between equal creation times is arbitrary, :func:`newest_first` breaks such ties
    by uid), and the first strictly older record ends the request.
    """
    needs = {}
    for group in groups:
        key = (server, group[0][2])
        wanted = still_lacking(summary.get(key), _group_bound(group))
        if wanted:
            needs[key] = wanted
    last_useful = [None]

    def stop(task):
        created = task.get("creation_time") or ""
        if not needs:
            return last_useful[0] is None or created < last_useful[0]
        wanted = needs.get(vm_key(task))
        if wanted and not is_running(task):
            wanted.discard("completed")
            if task.get("result") == "Success":
                wanted.discard("success")
            last_useful[0] = created
            if not wanted:
                del needs[vm_key(task)]
        return False

    return stop


def history_groups_of_all_servers(per_server):
    """The groups of :func:`plan_history` for every server, each naming its server (None: any server)."""
    groups = []
    for server, items in sorted(per_server.items(), key=lambda item: str(item[0])):
        for group in items:
            groups.append(group + ([("BackupServerName", "==", server)] if server else []))
    return groups


def servers_history_stop(summary, groups):
    """:func:`history_stop` for a request whose groups may belong to several backup servers.

    Every server's stop sees every record (each keeps its own state); the request ends once
    all of them say so.
    """
    by_server = {}
    for group in groups:
        by_server.setdefault(_group_server(group), []).append(group)
    stops = [history_stop(summary, server, items) for server, items in sorted(by_server.items(), key=lambda item: str(item[0]))]

    def stop(task):
        answers = [each(task) for each in stops]  # no short cut: every stop must see the record
        return all(answers)

    return stop


def history_page_size(members, page_size):
    """Records asked for in the one page of a step 4 request of *members* per round (see :data:`HISTORY_RECORDS_PER_VM`)."""
    return max(1, min(page_size, max(HISTORY_MIN_PAGE, HISTORY_RECORDS_PER_VM * len(members))))


def continue_history(answers, summary):
    """``(groups to ask again, groups to page through)``: the VMs one round of step 4 left lacking.

    *answers* are ``(members, records, page size)`` of each request of the round, its records newest
    first; *summary* is :func:`summarize` of what was read before the round. A request that got less
    than a full page has been read to its end (or stopped by :func:`history_stop`): its VMs are done.
    After a full page, a VM is done once the page held what it lacked (:func:`still_lacking`, against
    its group's own bound): as in :func:`history_stop`, its first finished record there is its newest
    completed one, its first successful one its newest success. Every other VM goes on below the
    oldest record read: ``CreationTime <=`` that instant, since EM's order between equal creation
    times is arbitrary and records of that instant may be unread (those read twice are dropped by
    uid); and for successes only when that is all it still lacks. A VM whose request read a whole
    page of that one instant again would make no progress so: it is returned to be paged through.
    """
    again, stuck = [], []
    for members, records, size in answers:
        if len(records) < size:
            continue
        got = {}
        for record in records:
            if not is_running(record):
                found = got.setdefault(vm_key(record), set())
                found.add("completed")
                if record.get("result") == "Success":
                    found.add("success")
        oldest = records[-1].get("creation_time")
        for group in members:
            key = (_group_server(group), group[0][2])
            lacking = still_lacking(summary.get(key), _group_bound(group)) - got.get(key, set())
            if not lacking:
                continue
            if oldest is None or oldest == _group_time(group, "<="):
                stuck.append(group)
                continue
            only_success = lacking == {"success"} and ("Result", "==", "Success") not in group
            again.append([item for item in group if not (item[0] == "CreationTime" and item[1] == "<=")]
                         + [("CreationTime", "<=", oldest)] + ([("Result", "==", "Success")] if only_success else []))
    return again, stuck


def _run_side_by_side(run, packed, workers):
    """``run(raw, members)`` of every request of :func:`pack`, at most *workers* at once; results in request order."""
    if len(packed) == 1 or workers == 1:
        return [run(raw, members) for raw, members in packed]
    pool = ThreadPoolExecutor(max_workers=min(len(packed), workers))
    try:
        futures = [pool.submit(run, raw, members) for raw, members in packed]
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# ------------------------------------------------------------------------------ reading

class Reader:
    """Runs the queries of one source through an open :class:`EMClient` and counts them."""

    def __init__(self, client, source, window):
        self.client = client
        self.source = source
        self.window = window
        self.queries = 0
        self.records = 0
        self._count_lock = threading.Lock()

    def _query(self, resource, predicates, raw_filter=None, sort=None, stop=None, concurrency=None, limit=None):
        """The records of one query as a list; with *stop*, only up to the record it says ends the query.

        Stopping closes the client's generator at once: the pages not yet requested are never
        requested (at most the pages already in flight still arrive).
        """
        options = {} if concurrency is None else {"concurrency": concurrency}
        if limit is not None:
            options["limit"] = limit
        records = []
        results = self.client.query(resource, predicates, raw_filter=raw_filter, sort=sort, **options)
        try:
            for record in results:
                records.append(record)
                if stop is not None and stop(record):
                    break
        finally:
            close = getattr(results, "close", None)
            if close is not None:
                close()
        with self._count_lock:
            self.queries += 1
            self.records += len(records)
        return records

    def sessions(self, extra=(), raw_filter=None):
        predicates, raw = session_filter(self.source, self.window)
        return self._query(self.source.session_type, predicates + list(extra), raw_filter or raw, sort="-CreationTime")

    def sessions_by_uid(self, uids):
        """Sessions named by UID (parents of kept task sessions that step 1 did not read)."""
        groups = [[("UID", "==", uid)] for uid in sorted(uids)]
        found = []
        for raw, _members in pack(self.source.session_type, groups, []):
            found.extend(self._query(self.source.session_type, [], raw))
        return found

    def tasks_in_groups(self, groups, extra=(), sort=None, stop_for=None, budget=None):
        """Task sessions matching any of *groups* (and the window, and *extra*), in as few requests as fit.

        The requests run side by side, at most ``client.concurrency`` pages in flight in all,
        and their records are returned in the order of the requests. *stop_for(groups)*, when
        given, makes the ``stop`` function of the request holding those groups; such requests
        read their pages one at a time, so that stopping wastes no page fetched ahead.
        """
        common = task_predicates(self.source, self.window) + list(extra)
        packed = pack(self.source.task_type, groups, common, budget or MAX_FILTER_LENGTH)
        if not packed:
            return []
        concurrency = max(1, int(getattr(self.client, "concurrency", 1) or 1))

        def run(raw, members, page_concurrency):
            stop = stop_for(members) if stop_for is not None else None
            return self._query(self.source.task_type, common, raw, sort=sort, stop=stop,
                               concurrency=page_concurrency)

        if len(packed) == 1 or concurrency == 1:
            page_concurrency = 1 if stop_for is not None else None
        else:
            page_concurrency = 1 if stop_for is not None else max(1, concurrency // min(len(packed), concurrency))
        found = []
        for records in _run_side_by_side(lambda raw, members: run(raw, members, page_concurrency), packed, concurrency):
            found.extend(records)
        return found

    def history(self, groups, extra, known_tasks):
        """Step 4 (see the module docstring): the completed task sessions the VMs of *groups* still lack.

        In rounds of one small page per request (:func:`history_page_size`), the requests side by side,
        read newest first and stopped by :func:`servers_history_stop`: most VMs find what they lack in
        their last run or two before the bound. A request holds VMs whose bounds lie hours apart, and
        paging on through it would read run after run of the VMs already done while waiting for one
        that has not succeeded for days; so only the VMs still lacking something go on, below what was
        read (:func:`continue_history`). After :data:`HISTORY_ROUNDS` rounds, and for a VM that makes
        no progress, the rest is paged through with full pages. *known_tasks* are the task sessions
        read before.
        """
        common = task_predicates(self.source, self.window) + list(extra)
        page_size = int(getattr(self.client, "page_size", 500) or 500)
        concurrency = max(1, int(getattr(self.client, "concurrency", 1) or 1))
        # what the stops and continue_history look up: only these VMs' task sessions (summarize sorts)
        keys = set((_group_server(group), group[0][2]) for group in groups)
        known_tasks = [task for task in known_tasks if vm_key(task) in keys]
        found, seen = [], set()
        pending, rest = groups, []

        def one_page(summary, raw, members):
            size = history_page_size(members, page_size)
            records = self._query(self.source.task_type, common, raw, sort="-CreationTime",
                                  stop=servers_history_stop(summary, members), concurrency=1, limit=size)
            return members, records, size

        for _round in range(HISTORY_ROUNDS):
            summary = summarize(known_tasks + found)
            answers = _run_side_by_side(partial(one_page, summary),
                                        pack(self.source.task_type, pending, common, MAX_FILTER_LENGTH), concurrency)
            for _members, records, _size in answers:
                found.extend(record for record in records if record.get("uid") not in seen)
                seen.update(record.get("uid") for record in records)
            pending, stuck = continue_history(answers, summary)
            rest.extend(stuck)
            if not pending:
                break
        rest.extend(pending)
        if rest:
            summary = summarize(known_tasks + found)
            found.extend(record for record in self.tasks_in_groups(rest, extra=extra, sort="-CreationTime",
                                                                   stop_for=lambda members: servers_history_stop(summary, members))
                         if record.get("uid") not in seen)
        return found

    def all_tasks(self):
        return self._query(self.source.task_type, task_predicates(self.source, self.window))


def _job_of(source, task, sessions_by_uid):
    session = sessions_by_uid.get(task.get(source.parent_key))
    return session.get(source.job_key) if session else None


def read_full_scan(reader):
    """Every task session of the window."""
    sessions = reader.sessions()
    return sessions, reader.all_tasks()


def part_bounds(splits):
    """``[(newer, older), ...]``: the parts that *splits* (instants, newest first) cut a read into (None: open)."""
    splits = list(splits)
    return list(zip([None] + splits, splits + [None]))


def part_predicates(newer, older):
    """The CreationTime predicates of one part of :func:`part_bounds`: ``older <= CreationTime < newer``."""
    predicates = []
    if newer is not None:
        predicates.append(("CreationTime", "<", newer))
    if older is not None:
        predicates.append(("CreationTime", ">=", older))
    return predicates


def session_parts(window):
    """The parts of step 1 (see :func:`part_bounds`), cut at the :data:`RECENT_SPANS` inside the window.

    One open part when the window is no longer than the shortest recent span.
    """
    return part_bounds(window.until - span for span in RECENT_SPANS if window.until - span > window.since)


def read_sessions(reader):
    """Step 1: ``(sessions, jobs whose older sessions were not read)``.

    Only jobs (not CDP policies, whose older sessions step 3 names one by one) are read in
    parts: each part (see :func:`session_parts`) leaves out the jobs with a full run in the
    newer ones.
    """
    source, window = reader.source, reader.window
    parts = session_parts(window)
    if not source.task_job_field or len(parts) == 1:
        return reader.sessions(), set()
    sessions, complete = [], set()
    for number, (newer, older) in enumerate(parts):
        if number:
            complete = complete_jobs(sessions, source)
        part = reader.sessions(extra=part_predicates(newer, older),
                               raw_filter=older_sessions_filter(source, window, complete) if complete else None)
        # without an exclusion (too many jobs for one URL) the part holds the complete jobs too
        sessions.extend(session for session in part if session.get(source.job_key) not in complete)
    return sessions, complete


def read_fast(reader):
    """The newest runs of each job, then only what is still unknown (see the module docstring)."""
    source = reader.source
    sessions, unread_jobs = read_sessions(reader)
    sessions_by_uid = dict((session["uid"], session) for session in sessions)
    plan = plan_sessions(sessions, source, unread_jobs)
    # The oldest session to read of a job with newer ones (CDP: yesterday's policy session
    # under today's running one) is read second, without the VMs the newer ones settled.
    first = [session for entry in plan.values() for session in
             (entry["read"][:-1] if len(entry["read"]) > 1 else entry["read"])]
    tasks = reader.tasks_in_groups(session_groups(source, first))
    later = [entry["read"][-1] for entry in plan.values() if len(entry["read"]) > 1]
    if later:
        tasks.extend(reader.tasks_in_groups(oldest_run_groups(source, later, tasks, sessions_by_uid)))

    known = {}
    for task in tasks:
        known.setdefault(_job_of(source, task, sessions_by_uid), set()).add(task.get("vm_name"))
    fallback = reader.tasks_in_groups(plan_fallback(source, plan, known))
    # The known VMs of a job are dropped below by the job of each task's session. Sessions older
    # than the recent span of a job with a full run in it were not read (step 1), and without
    # them a known VM's older task would pass as new (and could stand in for its last success).
    # Only tasks of VMs known in some job can be dropped, so only their sessions are needed.
    seen_names = set().union(*known.values()) if known else set()
    unread = set(task.get(source.parent_key) for task in fallback
                 if task.get("vm_name") in seen_names) - set(sessions_by_uid) - set([None])
    if unread:
        parents = reader.sessions_by_uid(unread)
        sessions = sessions + parents
        sessions_by_uid.update((session["uid"], session) for session in parents)
    for task in fallback:
        if task.get("vm_name") not in known.get(_job_of(source, task, sessions_by_uid), ()):
            tasks.append(task)

    # Every backup server's history requests in one pool (one after the other they were ~8% of S1).
    groups = history_groups_of_all_servers(plan_history(source, tasks, plan, known, sessions_by_uid))
    if groups:
        tasks.extend(reader.history(groups, [("State", "==", "Completed")], tasks))
    return sessions, tasks


def _read_reduced(reader, strategy):
    """``(sessions read, reduced task sessions)`` of one source (see :func:`reduce_tasks`)."""
    source, window = reader.source, reader.window
    if strategy == "full_scan":
        sessions, tasks = read_full_scan(reader)
    else:
        sessions, tasks = read_fast(reader)
    if window.jobs and not source.task_job_field:
        # CDP task sessions cannot be filtered by policy name: keep those of the selected policies.
        sessions_by_uid = dict((session["uid"], session) for session in sessions)
        tasks = [task for task in tasks if task.get(source.parent_key) in sessions_by_uid]
    return sessions, reduce_tasks(tasks)


def read_latest_per_vm(client, source_name, window, strategy="fast"):
    """Per VM of the window, its newest, newest completed and newest successful task session.

    Deduplicated and newest first; the answer of ``latest_per_vm`` in the task session modules.
    Returns ``{"tasks": [...], "queries": n, "records": n}``.
    """
    reader = Reader(client, SOURCES[source_name], window)
    dummy, tasks = _read_reduced(reader, strategy)
    return {"tasks": tasks, "queries": reader.queries, "records": reader.records}


def read_source(client, source_name, window, strategy="fast"):
    """Read one source; returns ``{"sessions": [...], "tasks": [...], "queries": n, "records": n}``.

    Only what the inventory is built from is returned: the reduced task sessions
    (:func:`reduce_tasks`) and the sessions they belong to.
    """
    source = SOURCES[source_name]
    reader = Reader(client, source, window)
    sessions, reduced = _read_reduced(reader, strategy)
    sessions_by_uid = dict((session["uid"], session) for session in sessions)
    wanted = set(task.get(source.parent_key) for task in reduced)
    missing = set(uid for uid in wanted if uid and uid not in sessions_by_uid)
    if missing and strategy != "full_scan":
        # older sessions of jobs with a recent full run were not read in step 1
        sessions = sessions + reader.sessions_by_uid(missing)
    return {
        "sessions": [session for session in sessions if session["uid"] in wanted],
        "tasks": reduced,
        "queries": reader.queries,
        "records": reader.records,
    }


def read_sources(client, source_names, window, strategy="fast", read=read_source, tolerated=()):
    """Read several sources side by side; ``[(name, part or the exception it raised)]`` in the given order.

    Each source's reads wait on the one before (sessions, then their tasks, then what is still
    unknown), so one source alone leaves most of the client's ``concurrency`` idle; the sources
    share it instead (the transport caps the requests in flight). An exception is returned, not
    raised, so that the caller decides per source (the inventory tolerates a refused source).

    With ``concurrency`` 1 the sources are read one after the other, and the first exception
    that is not one of ``tolerated`` ends the list: the run is failing, so nothing more is sent
    (one request at a time in a fixed order is what a user asks for when the server is fragile,
    and what the reliability suite's seeded faults rely on).
    """
    names = list(source_names)

    def guarded(name):
        try:
            return read(client, name, window, strategy)
        except Exception as exc:  # pylint: disable=broad-except  # handed back to the caller, which raises it
            return exc

    concurrency = max(1, int(getattr(client, "concurrency", 1) or 1))
    if len(names) < 2 or concurrency == 1:
        parts = []
        for name in names:
            part = guarded(name)
            parts.append((name, part))
            if isinstance(part, Exception) and not isinstance(part, tuple(tolerated)):
                break
        return parts
    with ThreadPoolExecutor(max_workers=min(len(names), concurrency)) as pool:
        futures = [(name, pool.submit(guarded, name)) for name in names]
        return [(name, future.result()) for name, future in futures]
