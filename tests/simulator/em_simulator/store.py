"""Read-only access to a generated data set: SQL queries (filter, sort, page) and canonical records.

A canonical record is a flat dict with the EM PascalCase field names (``UID``, ``Name``, ``CreationTimeUTC`` ...)
plus private keys starting with ``_`` that the renderer needs for links.  The same records feed the renderer and
the ground-truth admin endpoints.
"""

import collections
import hashlib
import json
import sqlite3
import threading

from em_simulator import filterlang, model

TASK_COLS = "id, guid, session_id, job_id, server_id, vm_id, vm_name, creation, end_time, state, result, reason, total_size"
SESSION_COLS = "id, guid, job_id, server_id, job_type, creation, end_time, state, result, progress, failure, is_retry"
SERVER_COLS = "id, guid, name, description, port, version, root_guid"
JOB_COLS = "id, guid, name, job_type, server_id, platform, description, schedule_configured, schedule_enabled, next_run"
COLUMNS = {"task": TASK_COLS, "cdp_task": TASK_COLS, "job_session": SESSION_COLS, "cdp_session": SESSION_COLS,
           "server": SERVER_COLS, "job": JOB_COLS}
SESSION_TABLE_OF_TASK = {"backup_task": "backup_session", "replica_task": "replica_session", "cdp_task": "cdp_session"}
SESSION_TYPE_OF_TABLE = {"backup_session": "BackupJobSession", "replica_session": "ReplicaJobSession", "cdp_session": "CdpReplicaSession"}
WINDOW_MS = 30 * model.DAY_MS
# Ids of paged answers kept at most (~40 MB): a client walks one query's pages at a time, or a few at once; the
# oldest answers are dropped first, and an answer larger than this is still computed once per page walk.
IDS_CACHE_BUDGET = 1500000


class Store(object):
    """Shared, read-only view of the data set; one SQLite connection per thread."""

    def __init__(self, path, now_ms):
        self.path = path
        self.now_ms = int(now_ms)
        self._local = threading.local()
        self._ids_lock = threading.Lock()
        self._ids_cache = collections.OrderedDict()
        self._ids_cached = 0
        conn = self.conn()
        self.meta = dict(conn.execute("SELECT key, value FROM meta"))
        self.params = json.loads(self.meta["params"])
        self.servers = dict((r[0], r) for r in conn.execute("SELECT %s FROM servers" % SERVER_COLS))
        self.jobs = dict((r[0], r) for r in conn.execute("SELECT %s FROM jobs" % JOB_COLS))
        self.vms = dict((r[0], r) for r in conn.execute("SELECT id, name, server_id, moref, size FROM vms"))
        self.sessions = {}
        for table in SESSION_TYPE_OF_TABLE:
            self.sessions[table] = dict((r[0], r) for r in conn.execute("SELECT %s FROM %s" % (SESSION_COLS, table)))
        self.counts = {}
        for tspec in model.TYPES.values():
            where = " WHERE " + tspec.base_where if tspec.base_where else ""
            self.counts[tspec.name] = conn.execute("SELECT count(*) FROM %s%s" % (tspec.table, where)).fetchone()[0]

    # -- connections -------------------------------------------------------------------------------------------
    def conn(self):
        """The calling thread's read-only connection (opened on first use)."""
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect("file:%s?mode=ro&immutable=1" % self.path, uri=True, check_same_thread=False)
            conn.create_function("em_name", 2, self._sql_session_name, deterministic=True)
            conn.create_function("em_vname", 2, self._sql_task_name, deterministic=True)
            self._local.conn = conn
        return conn

    def _sql_session_name(self, job_id, creation):
        job = self.jobs.get(job_id)
        return "%s@%s" % (job[2] if job else "", model.fmt_name_time(self.now_ms + creation))

    def _sql_task_name(self, vm_name, creation):
        return "%s@%s" % (vm_name, model.fmt_name_time(self.now_ms + creation))

    # -- queries -----------------------------------------------------------------------------------------------
    def _where(self, tspec, bound, extra):
        parts, params = [], []
        if tspec.base_where:
            parts.append(tspec.base_where)
        for sql, sql_params in extra:
            parts.append(sql)
            params.extend(sql_params)
        if bound is not None:
            sql, sql_params = filterlang.to_sql(bound, self.now_ms, self._resolve_fk)
            parts.append("(%s)" % sql)
            params.extend(sql_params)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    def _resolve_fk(self, spec, sql_op, value):
        coll = " COLLATE NOCASE" if spec.inner_kind == "str" else ""
        sql = "SELECT id FROM %s WHERE %s%s %s ?" % (spec.parent, spec.inner, coll, sql_op)
        return [row[0] for row in self.conn().execute(sql, [value])]

    def window_clause(self, tspec):
        """The 30-day creation window of the plain session collections (relative to the data clock)."""
        if tspec.name in model.SESSION_TYPES:
            return ("creation >= ?", [-WINDOW_MS])
        return None

    def query(self, tspec, bound=None, sort=None, desc=False, extra=(), limit=None, offset=0, count=True):
        """Return (total, records) for one page.  Filtering and sorting run in SQL."""
        where, params = self._where(tspec, bound, extra)
        conn = self.conn()
        direction = " DESC" if desc else ""
        if sort is not None:
            order = " ORDER BY %s%s, id%s" % (filterlang.field_sql(sort), direction, direction)
        else:
            order = " ORDER BY id"
        if limit is None:
            total = None
            if count:
                total = conn.execute("SELECT count(*) FROM %s%s" % (tspec.table, where), params).fetchone()[0]
            rows = conn.execute("SELECT %s FROM %s%s%s" % (COLUMNS[tspec.category], tspec.table, where, order),
                                params).fetchall()
            return total, [self.record(tspec, row) for row in rows]
        ids = self._ordered_ids(tspec.table, where, order, params)
        page_ids = ids[int(offset):int(offset) + int(limit)]
        return (len(ids) if count else None), self._records_by_id(tspec, page_ids)

    def _ordered_ids(self, table, where, order, params):
        """Every matching row id in answer order, computed once per distinct query and kept for its other pages.

        LIMIT/OFFSET would filter, count and sort the whole match again for every page, so the simulator's own
        CPU grew with pages x matches (a 36-page answer cost 36 sorts) and, on a two-core machine, slowed the
        client it measures. The data set is immutable, so a cached answer can never be stale.
        """
        key = (table, where, order, tuple(params))
        with self._ids_lock:
            ids = self._ids_cache.get(key)
            if ids is not None:
                self._ids_cache.move_to_end(key)
                return ids
        ids = [row[0] for row in self.conn().execute("SELECT id FROM %s%s%s" % (table, where, order), params)]
        with self._ids_lock:
            self._ids_cache[key] = ids
            self._ids_cached += len(ids)
            while self._ids_cached > IDS_CACHE_BUDGET and len(self._ids_cache) > 1:
                self._ids_cached -= len(self._ids_cache.popitem(last=False)[1])
        return ids

    def _records_by_id(self, tspec, ids):
        if not ids:
            return []
        rows = self.conn().execute("SELECT %s FROM %s WHERE id IN (%s)" % (
            COLUMNS[tspec.category], tspec.table, ",".join(str(int(i)) for i in ids))).fetchall()
        by_id = dict((row[0], row) for row in rows)
        return [self.record(tspec, by_id[i]) for i in ids]

    def by_guid(self, tspec, guid):
        """Record with the bare GUID ``guid`` (any case) or None."""
        where = " WHERE guid = ?" + (" AND " + tspec.base_where if tspec.base_where else "")
        row = self.conn().execute("SELECT %s FROM %s%s" % (COLUMNS[tspec.category], tspec.table, where), [guid.lower()]).fetchone()
        return self.record(tspec, row) if row else None

    def row_id(self, table, guid):
        row = self.conn().execute("SELECT id FROM %s WHERE guid = ?" % table, [guid.lower()]).fetchone()
        return row[0] if row else None

    def iter_records(self, tspec):
        """Every record of a type, in id order (used by the ground-truth endpoints)."""
        where = " WHERE " + tspec.base_where if tspec.base_where else ""
        cur = self.conn().execute("SELECT %s FROM %s%s ORDER BY id" % (COLUMNS[tspec.category], tspec.table, where))
        for row in cur:
            yield self.record(tspec, row)

    def latest_tasks(self, kind, since_ms=None, until_ms=None):
        """Newest task session per (backup server name, VM name) created in [since, until], across jobs and retries."""
        tspec = model.get_type({"replica": "ReplicaTaskSession", "backup": "BackupTaskSession", "cdp": "CdpReplicaTaskSession"}[kind])
        sql = "SELECT %s FROM %s WHERE creation >= ? AND creation <= ? ORDER BY creation, id" % (TASK_COLS, tspec.table)
        low = -(1 << 62) if since_ms is None else since_ms - self.now_ms
        high = (1 << 62) if until_ms is None else until_ms - self.now_ms
        newest = {}
        for row in self.conn().execute(sql, [low, high]):
            newest[(self.servers[row[4]][2], row[6])] = row
        return [self.record(tspec, newest[key]) for key in sorted(newest)]

    def digest(self):
        return self.meta["digest"]

    # -- canonical records -------------------------------------------------------------------------------------
    def _abs(self, offset):
        return None if offset is None else self.now_ms + offset

    def record(self, tspec, row):
        """Build the canonical record for a row of ``tspec``."""
        return getattr(self, "_rec_" + tspec.category)(tspec, row)

    def _common_times(self, rec, creation, end):
        c_ms, e_ms = self._abs(creation), self._abs(end)
        rec["CreationTimeUTC"] = model.fmt_time(c_ms)
        rec["EndTimeUTC"] = model.fmt_time(e_ms) if e_ms is not None else None
        rec["_ms_CreationTimeUTC"] = c_ms
        rec["_ms_EndTimeUTC"] = e_ms

    def _server_part(self, rec, server_id):
        server = self.servers[server_id]
        rec["BackupServerUid"] = "urn:veeam:BackupServer:" + server[1]
        rec["BackupServerName"] = server[2]
        rec["_server_guid"] = server[1]

    def _rec_task(self, tspec, row):
        rid, guid, session_id, job_id, server_id, vm_id, vm_name, creation, end, state, result, reason, size = row
        s_table = SESSION_TABLE_OF_TASK[tspec.table]
        session = self.sessions[s_table][session_id]
        job = self.jobs[job_id]
        c_ms = self.now_ms + creation
        rec = {"_type": tspec.name, "_guid": guid, "_id": rid,
               "UID": "urn:veeam:%s:%s" % (tspec.name, guid),
               "Name": "%s@%s" % (vm_name, model.fmt_name_time(c_ms)),
               "VmDisplayName": vm_name}
        session_uid = "urn:veeam:%s:%s" % (SESSION_TYPE_OF_TABLE[s_table], session[1])
        session_name = "%s@%s" % (job[2], model.fmt_name_time(self.now_ms + session[5]))
        if tspec.category == "cdp_task":
            rec["PolicySessionUid"] = session_uid
            rec["PolicySessionName"] = session_name
        else:
            rec["JobSessionUid"] = session_uid
            rec["JobSessionName"] = session_name
        self._common_times(rec, creation, end)
        rec["State"] = model.TASK_STATES[state]
        rec["Result"] = model.RESULTS[result]
        rec["Reason"] = reason
        rec["TotalSize"] = size
        if tspec.name == "BackupTaskSession":
            vm = self.vms[vm_id]
            rec["VmUid"] = "urn:VMware:Vm:%s.vm-%d" % (self.servers[vm[2]][6], vm[3])
        # For CDP tasks the "job" is the CDP policy.
        rec["JobUid"] = ("urn:veeam:CdpPolicy:" if tspec.category == "cdp_task" else "urn:veeam:Job:") + job[1]
        rec["JobName"] = job[2]
        rec["IsRetry"] = bool(session[11])
        self._server_part(rec, server_id)
        rec["_session_guid"] = session[1]
        rec["_session_name"] = session_name
        rec["_point"] = None
        if state == model.TS_COMPLETED and result in (model.R_SUCCESS, model.R_WARNING) and tspec.category == "task":
            digest = hashlib.md5(guid.encode("ascii"), usedforsecurity=False).hexdigest()
            point_guid = "%s-%s-4%s-a%s-%s" % (digest[:8], digest[8:12], digest[13:16], digest[17:20], digest[20:32])
            if tspec.name == "BackupTaskSession":
                tag = "".join("abcdefghijkLMNOPQRSTuvwxyzBFpa"[int(ch, 16)] for ch in digest[:4])
                point_name = "%s-%s@%s" % (vm_name, tag, model.fmt_name_time(c_ms + 14000))
            else:
                point_name = "%s@%s" % (vm_name, model.fmt_name_time(self.now_ms + end))
            rec["_point"] = (point_guid, point_name)
        return rec

    _rec_cdp_task = _rec_task

    def _rec_job_session(self, tspec, row):
        rid, guid, job_id, server_id, job_type, creation, end, state, result, progress, failure, is_retry = row
        job = self.jobs[job_id]
        rec = {"_type": tspec.name, "_guid": guid, "_id": rid,
               "UID": "urn:veeam:%s:%s" % (tspec.name, guid),
               "Name": "%s@%s" % (job[2], model.fmt_name_time(self.now_ms + creation)),
               "JobUid": "urn:veeam:Job:" + job[1], "JobName": job[2], "JobType": model.JOB_TYPES[job_type]}
        self._common_times(rec, creation, end)
        rec.update({"State": model.JOB_STATES[state], "Result": model.RESULTS[result], "Progress": progress,
                    "FailureMessage": failure or None, "IsRetry": bool(is_retry), "_job_guid": job[1]})
        self._server_part(rec, server_id)
        return rec

    def _rec_cdp_session(self, tspec, row):
        rid, guid, job_id, server_id, _job_type, creation, end, state, result, progress, failure, is_retry = row
        job = self.jobs[job_id]
        rec = {"_type": tspec.name, "_guid": guid, "_id": rid,
               "UID": "urn:veeam:CdpReplicaSession:" + guid,
               "Name": "%s@%s" % (job[2], model.fmt_name_time(self.now_ms + creation)),
               "PolicyUid": "urn:veeam:CdpPolicy:" + job[1], "PolicyName": job[2], "PolicyType": "CdpReplica"}
        self._common_times(rec, creation, end)
        rec.update({"State": model.JOB_STATES[state], "Result": model.RESULTS[result], "Progress": progress,
                    "FailureMessage": failure or None, "IsRetry": bool(is_retry), "_job_guid": job[1]})
        self._server_part(rec, server_id)
        return rec

    def _rec_server(self, tspec, row):
        rid, guid, name, description, port, version, _root = row
        return {"_type": tspec.name, "_guid": guid, "_id": rid, "UID": "urn:veeam:BackupServer:" + guid, "Name": name,
                "Description": description, "Port": port, "Version": version}

    def _rec_job(self, tspec, row):
        rid, guid, name, job_type, server_id, platform, description, sched_conf, sched_en, next_run = row
        rec = {"_type": tspec.name, "_guid": guid, "_id": rid, "UID": "urn:veeam:Job:" + guid, "Name": name,
               "JobType": model.JOB_TYPES[job_type], "Platform": model.PLATFORMS[platform], "Description": description,
               "ScheduleConfigured": bool(sched_conf), "ScheduleEnabled": bool(sched_en),
               "NextRun": model.fmt_time(self._abs(next_run)) if next_run is not None else None,
               "_ms_NextRun": self._abs(next_run)}
        self._server_part(rec, server_id)
        return rec


def public(record):
    """A canonical record without its private keys (what the truth endpoints return)."""
    return dict((k, v) for k, v in record.items() if not k.startswith("_"))
