"""Deterministic data set generator, stored in SQLite and cached on disk.

Times are stored as integer milliseconds RELATIVE TO THE ANCHOR (0 = the data clock "now", negative = past).
The server maps them to absolute times with ``absolute = now_ms + offset`` where now_ms is the data clock
(``--now`` or the real time at start), so a session that is running at the anchor is running at "now".
"""

import contextlib
import hashlib
import json
import os
import random
import re
import sqlite3

from em_simulator import model

GENERATOR_VERSION = 6

PRESETS = {
    "tiny": dict(backup_servers=2, replica_jobs=3, backup_jobs=1, vms=20, days=3, replica_runs_per_day=2, backup_runs_per_day=1,
                 cdp_vms=4, seed=1, special_names=True),
    "demo": dict(backup_servers=2, replica_jobs=6, backup_jobs=3, vms=60, days=7, replica_runs_per_day=4, backup_runs_per_day=1,
                 cdp_vms=10, seed=7, special_names=True),
    "fleet": dict(backup_servers=2, replica_jobs=60, backup_jobs=40, vms=5000, days=30, replica_runs_per_day=6, backup_runs_per_day=1,
                  cdp_vms=500, seed=42, special_names=True),
}

# Names that exercise quoting, escaping and templating paths of every client.
SPECIAL_VM_NAMES = (
    "vm with spaces",
    "\u0441\u0435\u0440\u0432\u0435\u0440-01",
    "caf\u00e9-db",
    'quote"vm',
    "semi;colon-vm",
    "comma,vm",
    "paren(vm)",
    "{{ lookup('pipe', 'id') }}",
    "{% if true %}tmpl{% endif %}",
    'x";Result==Success,(VmDisplayName=="y',
)
SPECIAL_JOB_NAMES = (
    'Replica "critical" (tier 1)',
    "Replica; prod, DR {{ env }}",
    "R\u00e9plica {% raw %}nord{% endraw %}",
)
# With the ``canary`` parameter (a file path) these names are added too: rendering any of them as a template would
# create that file, so a test only has to check that the file stays absent.
CANARY_VM_NAMES = (
    "{{ lookup('pipe', 'touch %(path)s') }}",
    "{%% set canary = lookup('pipe', 'touch %(path)s-stmt') %%}canary-stmt",
    "<script>document.title='%(path)s'</script>",
)
CANARY_JOB_NAME = "Replica {{ lookup('pipe', 'touch %(path)s-job') }}"
_CANARY_PATH = re.compile(r"^/[A-Za-z0-9_./-]+$")
VM_PREFIXES = ("web", "sql", "app", "dc", "file", "mail", "db", "proxy", "build", "cache", "k8s", "log")
REPLICA_JOB_BASES = ("Web Replica", "SQL Replica", "App Replica", "DC Replica", "File Replica", "Mail Replica")
BACKUP_JOB_BASES = ("Daily Backup", "SQL Backup", "Fileserver Backup", "Infra Backup")
WARNING_REASONS = (
    "Changed block tracking cannot be enabled: one or more snapshots present.",
    "Guest processing skipped: VMware Tools are not running.",
    "Low free space on target datastore (9% left).",
)
FAILED_REASONS = (
    "Error: Failed to create VM snapshot. The operation is not allowed in the current state.",
    "Error: Cannot connect to host: connection timed out.",
    "Error: Target datastore is full.",
    "Error: Unable to allocate processing resources: all proxies are busy.",
)
STOPPED_MESSAGE = "Job has been stopped by user."

SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT);
CREATE TABLE servers (id INTEGER PRIMARY KEY, guid TEXT, name TEXT COLLATE NOCASE, description TEXT COLLATE NOCASE,
    port INTEGER, version TEXT COLLATE NOCASE, root_guid TEXT);
CREATE TABLE jobs (id INTEGER PRIMARY KEY, guid TEXT, name TEXT COLLATE NOCASE, job_type INTEGER, server_id INTEGER,
    platform INTEGER, description TEXT COLLATE NOCASE, schedule_configured INTEGER, schedule_enabled INTEGER, next_run INTEGER);
CREATE TABLE vms (id INTEGER PRIMARY KEY, name TEXT, server_id INTEGER, moref INTEGER, size INTEGER);
"""
SESSION_COLUMNS = "id, guid, job_id, server_id, job_type, creation, end_time, state, result, progress, failure, is_retry"
TASK_COLUMNS = "id, guid, session_id, job_id, server_id, vm_id, vm_name, creation, end_time, state, result, reason, total_size"
SESSION_TABLES = ("backup_session", "replica_session", "cdp_session")
TASK_TABLES = ("backup_task", "replica_task", "cdp_task")


def _session_ddl(table):
    return ("CREATE TABLE %s (id INTEGER PRIMARY KEY, guid TEXT, job_id INTEGER, server_id INTEGER, job_type INTEGER, "
            "creation INTEGER, end_time INTEGER, state INTEGER, result INTEGER, progress INTEGER, failure TEXT COLLATE NOCASE, "
            "is_retry INTEGER)" % table)


def _task_ddl(table):
    return ("CREATE TABLE %s (id INTEGER PRIMARY KEY, guid TEXT, session_id INTEGER, job_id INTEGER, server_id INTEGER, "
            "vm_id INTEGER, vm_name TEXT COLLATE NOCASE, creation INTEGER, end_time INTEGER, state INTEGER, result INTEGER, "
            "reason TEXT COLLATE NOCASE, total_size INTEGER)" % table)


INDEXES = []
for _t in SESSION_TABLES:
    INDEXES += ["CREATE UNIQUE INDEX %s_guid ON %s (guid)" % (_t, _t),
                "CREATE INDEX %s_creation ON %s (creation)" % (_t, _t),
                "CREATE INDEX %s_job ON %s (job_id, creation)" % (_t, _t),
                "CREATE INDEX %s_result ON %s (result, creation)" % (_t, _t)]
for _t in TASK_TABLES:
    INDEXES += ["CREATE UNIQUE INDEX %s_guid ON %s (guid)" % (_t, _t),
                "CREATE INDEX %s_creation ON %s (creation)" % (_t, _t),
                "CREATE INDEX %s_vm ON %s (vm_name, creation)" % (_t, _t),
                "CREATE INDEX %s_session ON %s (session_id)" % (_t, _t),
                "CREATE INDEX %s_result ON %s (result, creation)" % (_t, _t),
                "CREATE INDEX %s_job ON %s (job_id, creation)" % (_t, _t)]
INDEXES += ["CREATE UNIQUE INDEX servers_guid ON servers (guid)", "CREATE UNIQUE INDEX jobs_guid ON jobs (guid)",
            "CREATE INDEX jobs_name ON jobs (name)", "CREATE INDEX servers_name ON servers (name)"]


def resolve_params(dataset="demo", **overrides):
    """Merge a named preset with size overrides (None values are ignored)."""
    if dataset not in PRESETS:
        raise ValueError("unknown dataset %r (choose from %s)" % (dataset, ", ".join(sorted(PRESETS))))
    params = dict(PRESETS[dataset])
    for key, value in overrides.items():
        if value is None:
            continue
        if key == "canary":  # only present when set, so the cache keys of the presets stay as they were
            if not _CANARY_PATH.match(str(value)):
                raise ValueError("canary must be an absolute path of letters, digits and _ . / - only")
            params[key] = str(value)
            continue
        if key not in params:
            raise ValueError("unknown dataset parameter %r" % key)
        params[key] = value
    for key in ("days", "vms", "backup_servers", "replica_runs_per_day", "backup_runs_per_day"):
        if int(params[key]) < 1:
            raise ValueError("%s must be at least 1" % key)
    for key in ("replica_jobs", "backup_jobs", "cdp_vms"):
        if int(params[key]) < 0:
            raise ValueError("%s must not be negative" % key)
    params["name"] = dataset
    return params


def cache_key(params):
    """Hash of generator version and parameters; names the cache file."""
    text = json.dumps({"v": GENERATOR_VERSION, "p": params}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def cache_path(cache_dir, params):
    return os.path.join(cache_dir, "em-%s-%s.sqlite" % (params["name"], cache_key(params)))


@contextlib.contextmanager
def _file_lock(path):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - non-POSIX: rely on the atomic rename only
        yield
        return
    with open(path, "a+", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def ensure_dataset(cache_dir, params):
    """Return (path, built) for the cached data set, generating it under a lock when missing."""
    os.makedirs(cache_dir, exist_ok=True)
    path = cache_path(cache_dir, params)
    if os.path.exists(path):
        return path, False
    with _file_lock(path + ".lock"):
        if os.path.exists(path):
            return path, False
        tmp = "%s.tmp-%d" % (path, os.getpid())
        if os.path.exists(tmp):
            os.unlink(tmp)
        try:
            build(tmp, params)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path, True


class _Gen(object):
    """Holds the RNG and the rows while generating."""

    def __init__(self, params):
        self.p = params
        self.rng = random.Random(params["seed"])
        self.days_ms = params["days"] * model.DAY_MS
        self.servers = []
        self.jobs = []
        self.vms = []
        self.sessions = dict((t, []) for t in SESSION_TABLES)
        self.tasks = dict((t, []) for t in TASK_TABLES)

    def guid(self):
        """A random (version 4 shaped) GUID from the seeded RNG; 122 random bits, collisions are not a practical concern
        (and the unique guid indexes would reject one)."""
        h = "%032x" % self.rng.getrandbits(128)
        return "%s-%s-4%s-%s%s-%s" % (h[:8], h[8:12], h[13:16], "89ab"[int(h[16], 16) & 3], h[17:20], h[20:32])

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, seq):
        return seq[int(self.rng.random() * len(seq))]

    def between(self, low, high):
        return low + int(self.rng.random() * (high - low + 1))


def _vm_names(gen):
    """Readable names, the special names, and a few names duplicated on the second server."""
    count = gen.p["vms"]
    specials = list(SPECIAL_VM_NAMES) if gen.p["special_names"] else []
    specials = specials[:max(0, count // 2)]
    if gen.p.get("canary"):
        specials = [name % {"path": gen.p["canary"]} for name in CANARY_VM_NAMES] + specials
    width = 2 if count < 1000 else 4
    names = []
    i = 0
    while len(names) < count - len(specials):
        prefix = VM_PREFIXES[i % len(VM_PREFIXES)]
        names.append("%s-%0*d" % (prefix, width, i // len(VM_PREFIXES) + 1))
        i += 1
    return names, specials


def _build_inventory(gen):
    p = gen.p
    n_servers = max(1, p["backup_servers"])
    for s in range(n_servers):
        gen.servers.append((s + 1, gen.guid(), "vbr%02d.tech.local" % (s + 1), "Backup server %d" % (s + 1), 9392,
                            "12.3.1.1139" if s % 2 == 0 else "13.0.1.180", gen.guid()))
    names, specials = _vm_names(gen)
    vm_id = 0
    for idx, name in enumerate(names):
        server = idx % n_servers + 1
        vm_id += 1
        gen.vms.append([vm_id, name, server, 1000 + vm_id * 7, gen.pick((8, 12, 16, 24, 32, 40, 64, 100)) << 30])
    for idx, name in enumerate(specials):
        vm_id += 1
        gen.vms.append([vm_id, name, idx % n_servers + 1, 1000 + vm_id * 7, 16 << 30])
    if n_servers > 1:
        # Same VM name on two backup servers (different VMs): rename a few second-server VMs to first-server names.
        first = [v for v in gen.vms if v[2] == 1 and "-" in v[1] and v[1] not in specials][:3]
        second = [v for v in gen.vms if v[2] == 2 and "-" in v[1] and v[1] not in specials][:3]
        for a, b in zip(first, second):
            b[1] = a[1]


def _build_jobs(gen):
    p = gen.p
    n_servers = len(gen.servers)
    job_id = 0
    replica_jobs, backup_jobs, policies = [], [], []
    special_jobs = list(SPECIAL_JOB_NAMES) if p["special_names"] else []
    if p.get("canary"):
        special_jobs.insert(0, CANARY_JOB_NAME % {"path": p["canary"]})
    for j in range(p["replica_jobs"]):
        job_id += 1
        n_special = min(len(special_jobs), p["replica_jobs"] - 1)
        if n_special > 0 and j >= p["replica_jobs"] - n_special:
            name = special_jobs[j - (p["replica_jobs"] - n_special)]
        else:
            base = REPLICA_JOB_BASES[j % len(REPLICA_JOB_BASES)]
            name = "%s %d" % (base, j // len(REPLICA_JOB_BASES) + 1)
        server = j % n_servers + 1
        gen.jobs.append((job_id, gen.guid(), name, model.JT_REPLICA, server, 0, "Replication job %s" % name, 1, 1, None))
        replica_jobs.append((job_id, server))
    for j in range(p["backup_jobs"]):
        job_id += 1
        base = BACKUP_JOB_BASES[j % len(BACKUP_JOB_BASES)]
        name = "%s %d" % (base, j // len(BACKUP_JOB_BASES) + 1)
        server = j % n_servers + 1
        gen.jobs.append((job_id, gen.guid(), name, model.JT_BACKUP, server, 0, "Backup job %s" % name, 1, 1, None))
        backup_jobs.append((job_id, server))
    n_policies = 0
    if p["cdp_vms"] > 0:
        n_policies = max(1, min(n_servers * 5, p["cdp_vms"] // 25 or 1))
    for j in range(n_policies):
        job_id += 1
        server = j % n_servers + 1
        gen.jobs.append((job_id, gen.guid(), "CDP Policy %d" % (j + 1), model.JT_CDP, server, 0, "CDP policy %d" % (j + 1), 1, 1, None))
        policies.append((job_id, server))
    return replica_jobs, backup_jobs, policies


def _assign(jobs, vms_by_server):
    """Partition each server's VMs over that server's jobs; returns {job_id: [(vm, removed_at_offset_or_None)]}."""
    members = dict((job_id, []) for job_id, _server in jobs)
    for server, vms in vms_by_server.items():
        server_jobs = [job_id for job_id, s in jobs if s == server]
        if not server_jobs:
            continue
        for i, vm in enumerate(vms):
            members[server_jobs[i % len(server_jobs)]].append([vm, None])
    return members


def _task_rows(gen, job_sess_id, job_id, server, vm_list, start, kind):
    """Generate the task sessions of one job run; returns (rows, worst_result, end_offset, running)."""
    rows = []
    slots = [start + gen.between(3000, 15000)] * 4
    worst = model.R_SUCCESS
    end = start
    running = False
    for vm, flaky in vm_list:
        slot = min(range(len(slots)), key=slots.__getitem__)
        t_start = slots[slot] + gen.between(500, 4000)
        if t_start >= 0:
            running = True
            break
        if kind == "backup":
            dur = gen.between(40000, 420000)
        else:
            dur = gen.between(30000, 300000)
        t_end = t_start + dur
        slots[slot] = t_end
        roll = gen.rng.random()
        if roll < 0.03 * flaky:
            result, reason = model.R_FAILED, gen.pick(FAILED_REASONS)
        elif roll < 0.09 * flaky:
            result, reason = model.R_WARNING, gen.pick(WARNING_REASONS)
        else:
            result, reason = model.R_SUCCESS, ""
        if t_end >= 0:
            running = True
            rows.append((None, gen.guid(), job_sess_id, job_id, server, vm[0], vm[1], t_start, None, model.TS_INPROGRESS,
                         model.R_NONE, "", 0))
            continue
        worst = max(worst, result)
        end = max(end, t_end)
        rows.append((None, gen.guid(), job_sess_id, job_id, server, vm[0], vm[1], t_start, t_end, model.TS_COMPLETED, result, reason,
                     vm[4]))
    return rows, worst, end, running


def _build_job_sessions(gen, kind, jobs, members, runs_per_day):
    """Sessions of replica or backup jobs, with retries, stopped runs and runs still going at the anchor."""
    s_table, t_table = "%s_session" % kind, "%s_task" % kind
    job_type = model.JT_REPLICA if kind == "replica" else model.JT_BACKUP
    period = model.DAY_MS // max(1, runs_per_day)
    sessions, tasks = gen.sessions[s_table], gen.tasks[t_table]
    sess_id = len(sessions)
    by_id = dict((v[0], v) for v in gen.vms)
    for index, (job_id, server) in enumerate(jobs):
        member = members[job_id]
        if not member:
            continue
        if index == 0:
            phase = (gen.days_ms - 150000) % period  # the first job of each kind is running at the anchor
        else:
            phase = gen.between(0, period - 1)
        flaky = dict((m[0][0], 1.0 if gen.rng.random() < 0.8 else 4.0) for m in member)
        # Some VMs are removed from the job part-way through the history.
        for m in member:
            if gen.chance(0.04):
                m[1] = -gen.between(1, max(1, gen.p["days"] - 1)) * model.DAY_MS + gen.between(0, model.DAY_MS)
        start = -gen.days_ms + phase
        run_no = 0
        while start < 0:
            run_no += 1
            jitter = 0 if (index == 0 and start + period >= 0) else gen.between(0, 90000)
            run_start = start + jitter
            start += period
            if run_start >= 0:
                break
            vm_list = [(m[0], flaky[m[0][0]]) for m in member if m[1] is None or m[1] > run_start]
            # Runs stopped part-way: 1% at random, plus one fixed run so that every data set has one.
            stopped = (gen.chance(0.01) or (index == 1 and run_no == 3)) and len(vm_list) > 2
            if stopped:
                vm_list = vm_list[:gen.between(1, len(vm_list) - 1)]
            sess_id += 1
            guid = gen.guid()
            rows, worst, end, running = _task_rows(gen, sess_id, job_id, server, vm_list, run_start, kind)
            tasks.extend(rows)
            if running:
                done = sum(1 for r in rows if r[9] == model.TS_COMPLETED)
                sessions.append((sess_id, guid, job_id, server, job_type, run_start, None, model.JS_WORKING, model.R_NONE,
                                 int(100 * done / max(1, len(vm_list))), "", 0))
                continue
            failure = ""
            if stopped:
                worst, failure = model.R_FAILED, STOPPED_MESSAGE
            end += gen.between(2000, 9000)
            if end >= 0:
                end = -1
            sessions.append((sess_id, guid, job_id, server, job_type, run_start, end, model.JS_STOPPED, worst, 100, failure, 0))
            failed_vms = [(r[5], r[6]) for r in rows if r[10] == model.R_FAILED]
            if failed_vms and not stopped and gen.chance(0.7):
                retry_start = end + gen.between(300000, 600000)
                if retry_start >= 0:
                    continue
                retry_list = [(by_id[vm_id], 0.5) for vm_id, _n in failed_vms]
                sess_id += 1
                rguid = gen.guid()
                rrows, rworst, rend, rrunning = _task_rows(gen, sess_id, job_id, server, retry_list, retry_start, kind)
                tasks.extend(rrows)
                if rrunning:
                    sessions.append((sess_id, rguid, job_id, server, job_type, retry_start, None, model.JS_WORKING, model.R_NONE, 0, "", 1))
                else:
                    rend = min(rend + gen.between(2000, 9000), -1)
                    sessions.append((sess_id, rguid, job_id, server, job_type, retry_start, rend, model.JS_STOPPED, rworst, 100, "", 1))


def _build_cdp(gen, policies, members):
    """CDP policy sessions every 24 h; per VM task sessions of ~8 h chained back to back."""
    sessions, tasks = gen.sessions["cdp_session"], gen.tasks["cdp_task"]
    sess_id = 0
    for job_id, server in policies:
        vms = [m[0] for m in members[job_id]]
        if not vms:
            continue
        phase = gen.between(0, model.DAY_MS - 1)
        starts = []
        t = -gen.days_ms + phase
        while t < 0:
            starts.append(t)
            t += model.DAY_MS
        sess_ids = []
        for i, st in enumerate(starts):
            sess_id += 1
            sess_ids.append((sess_id, gen.guid(), st, starts[i + 1] - gen.between(1000, 5000) if i + 1 < len(starts) else None))
        worst = dict((s[0], model.R_SUCCESS) for s in sess_ids)
        for vm in vms:
            t = starts[0] + gen.between(5000, 60000)
            k = 0
            while t < 0:
                while k + 1 < len(sess_ids) and sess_ids[k + 1][2] <= t:
                    k += 1
                dur = 8 * 3600 * 1000 + gen.between(-60000, 60000)
                t_end = t + dur
                sid = sess_ids[k][0]
                if t_end >= 0:
                    tasks.append((None, gen.guid(), sid, job_id, server, vm[0], vm[1], t, None, model.TS_INPROGRESS, model.R_NONE, "", 0))
                    break
                roll = gen.rng.random()
                if roll < 0.01:
                    result, reason = model.R_FAILED, "Error: CDP proxy is unavailable."
                elif roll < 0.04:
                    result, reason = model.R_WARNING, "RPO was not met for 2 minutes."
                else:
                    result, reason = model.R_SUCCESS, ""
                worst[sid] = max(worst[sid], result)
                tasks.append((None, gen.guid(), sid, job_id, server, vm[0], vm[1], t, t_end, model.TS_COMPLETED, result, reason, vm[4]))
                t = t_end + gen.between(1000, 5000)
        for sid, guid, st, end in sess_ids:
            if end is None:
                sessions.append((sid, guid, job_id, server, model.JT_CDP, st, None, model.JS_WORKING, model.R_NONE, 0, "", 0))
            else:
                sessions.append((sid, guid, job_id, server, model.JT_CDP, st, end, model.JS_STOPPED, worst[sid], 100, "", 0))


def generate(params):
    """Generate all rows (no I/O).  Returns the _Gen holding them."""
    gen = _Gen(params)
    _build_inventory(gen)
    replica_jobs, backup_jobs, policies = _build_jobs(gen)
    vms_by_server = {}
    for vm in gen.vms:
        vms_by_server.setdefault(vm[2], []).append(vm)
    cdp_members = dict((job_id, []) for job_id, _s in policies)
    if policies:
        cdp_count = min(gen.p["cdp_vms"], len(gen.vms))
        pool = gen.vms[-cdp_count:]
        for i, vm in enumerate(pool):
            same = [pid for pid, s in policies if s == vm[2]] or [policies[0][0]]
            cdp_members[same[i % len(same)]].append([vm, None])
    replica_members = _assign(replica_jobs, vms_by_server)
    # Some VMs are in two replica jobs (same server).
    for server, vms in vms_by_server.items():
        server_jobs = [j for j, s in replica_jobs if s == server]
        if len(server_jobs) > 1:
            for i, vm in enumerate(vms[:max(1, len(vms) // 30)]):
                target = server_jobs[(i + 1) % len(server_jobs)]
                if all(m[0][0] != vm[0] for m in replica_members[target]):
                    replica_members[target].append([vm, None])
    backup_members = _assign(backup_jobs, vms_by_server)
    _build_job_sessions(gen, "replica", replica_jobs, replica_members, gen.p["replica_runs_per_day"])
    _build_job_sessions(gen, "backup", backup_jobs, backup_members, gen.p["backup_runs_per_day"])
    _build_cdp(gen, policies, cdp_members)
    return gen


def build(path, params):
    """Generate the data set into a new SQLite file at ``path`` (bulk-load PRAGMAs, indexes after insert)."""
    gen = generate(params)
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-64000")
        conn.executescript(SCHEMA)
        conn.execute("BEGIN")
        for t in SESSION_TABLES:
            conn.execute(_session_ddl(t))
        for t in TASK_TABLES:
            conn.execute(_task_ddl(t))
        conn.executemany("INSERT INTO servers VALUES (?,?,?,?,?,?,?)", gen.servers)
        conn.executemany("INSERT INTO jobs VALUES (?,?,?,?,?,?,?,?,?,?)", gen.jobs)
        conn.executemany("INSERT INTO vms VALUES (?,?,?,?,?)", gen.vms)
        digest = hashlib.sha256()
        for t in SESSION_TABLES:
            rows = gen.sessions[t]
            rows.sort()
            conn.executemany("INSERT INTO %s VALUES (?,?,?,?,?,?,?,?,?,?,?,?)" % t, rows)
            digest.update(repr(rows).encode("utf-8"))
        for t in TASK_TABLES:
            # Task ids follow creation time, so id order is time order.
            rows = gen.tasks[t]
            rows.sort(key=lambda r: (r[7], r[2], r[1]))
            conn.executemany("INSERT INTO %s VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)" % t, rows)
            for start in range(0, len(rows), 50000):
                digest.update(repr(rows[start:start + 50000]).encode("utf-8"))
            gen.tasks[t] = None
        digest.update(repr((gen.servers, gen.jobs, gen.vms)).encode("utf-8"))
        for stmt in INDEXES:
            conn.execute(stmt)
        meta = {"params": json.dumps(params, sort_keys=True), "generator_version": str(GENERATOR_VERSION), "digest": digest.hexdigest()}
        conn.executemany("INSERT INTO meta VALUES (?, ?)", sorted(meta.items()))
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    finally:
        conn.close()
