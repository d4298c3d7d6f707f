"""Static description of the EM resource types: enums, filter fields, URLs, time helpers."""

import datetime
import re
import time

NS = "http://www.veeam.com/ent/v1.0"
DAY_MS = 86400 * 1000

# Enumerations compare by ordinal position (em-api 5.3).  ``None`` (running session) is placed before
# ``Success``; that position is an UNCONFIRMED choice documented in README.md.
RESULTS = ("None", "Success", "Warning", "Failed")
JOB_STATES = ("Starting", "Stopping", "Working", "Pausing", "Resuming", "Stopped")
TASK_STATES = ("InProgress", "Pending", "Completed")
JOB_TYPES = ("Backup", "BackupCopy", "ImmediateBackupCopy", "ImmediateBackupCopyWorker", "AgentBackup",
             "AgentManagement", "NasBackup", "Replica", "CdpReplica")
PLATFORMS = ("VMware", "HyperV", "vCloud", "CustomPlatform")

R_NONE, R_SUCCESS, R_WARNING, R_FAILED = 0, 1, 2, 3
JS_WORKING, JS_STOPPED = 2, 5
TS_INPROGRESS, TS_PENDING, TS_COMPLETED = 0, 1, 2
JT_BACKUP = JOB_TYPES.index("Backup")
JT_REPLICA = JOB_TYPES.index("Replica")
JT_CDP = JOB_TYPES.index("CdpReplica")


class FieldSpec(object):
    """One filter/sort field of a query type.

    kind: str, int, bool, date, enum, uid (own guid), fk (value of a parent row reached through a column).
    """

    def __init__(self, name, kind, column, key, enum=None, prefix=None, parent=None, inner=None, inner_kind=None):
        self.name = name
        self.kind = kind
        self.column = column
        self.key = key
        self.enum = enum
        self.prefix = prefix
        self.parent = parent
        self.inner = inner
        self.inner_kind = inner_kind


def _job_session_fields(kind_prefix):
    sess = "urn:veeam:%s:" % kind_prefix
    return [
        FieldSpec("UID", "uid", "guid", "UID", prefix=sess),
        FieldSpec("Name", "str", "em_name(job_id, creation)", "Name"),
        FieldSpec("JobType", "enum", "job_type", "JobType", enum=JOB_TYPES),
        FieldSpec("JobUid", "fk", "job_id", "JobUid", parent="jobs", inner="guid", inner_kind="uid", prefix="urn:veeam:Job:"),
        FieldSpec("JobName", "fk", "job_id", "JobName", parent="jobs", inner="name", inner_kind="str"),
        FieldSpec("CreationTime", "date", "creation", "CreationTimeUTC"),
        FieldSpec("EndTime", "date", "end_time", "EndTimeUTC"),
        FieldSpec("State", "enum", "state", "State", enum=JOB_STATES),
        FieldSpec("Result", "enum", "result", "Result", enum=RESULTS),
        FieldSpec("IsRetry", "bool", "is_retry", "IsRetry"),
        FieldSpec("BackupServerUid", "fk", "server_id", "BackupServerUid", parent="servers", inner="guid", inner_kind="uid",
                  prefix="urn:veeam:BackupServer:"),
        FieldSpec("BackupServerName", "fk", "server_id", "BackupServerName", parent="servers", inner="name", inner_kind="str"),
    ]


def _task_fields(kind_prefix, session_table, session_prefix):
    return [
        FieldSpec("UID", "uid", "guid", "UID", prefix="urn:veeam:%s:" % kind_prefix),
        FieldSpec("Name", "str", "em_vname(vm_name, creation)", "Name"),
        FieldSpec("CreationTime", "date", "creation", "CreationTimeUTC"),
        FieldSpec("EndTime", "date", "end_time", "EndTimeUTC"),
        FieldSpec("State", "enum", "state", "State", enum=TASK_STATES),
        FieldSpec("Result", "enum", "result", "Result", enum=RESULTS),
        FieldSpec("Reason", "str", "reason", "Reason"),
        FieldSpec("TotalSize", "int", "total_size", "TotalSize"),
        FieldSpec("JobSessionUid", "fk", "session_id", "JobSessionUid", parent=session_table, inner="guid", inner_kind="uid",
                  prefix="urn:veeam:%s:" % session_prefix),
        FieldSpec("JobUid", "fk", "job_id", "JobUid", parent="jobs", inner="guid", inner_kind="uid", prefix="urn:veeam:Job:"),
        FieldSpec("JobName", "fk", "job_id", "JobName", parent="jobs", inner="name", inner_kind="str"),
        FieldSpec("BackupServerUid", "fk", "server_id", "BackupServerUid", parent="servers", inner="guid", inner_kind="uid",
                  prefix="urn:veeam:BackupServer:"),
        FieldSpec("BackupServerName", "fk", "server_id", "BackupServerName", parent="servers", inner="name", inner_kind="str"),
        FieldSpec("VmDisplayName", "str", "vm_name", "VmDisplayName"),
    ]


def _cdp_session_fields():
    return [
        FieldSpec("Id", "uid", "guid", "UID", prefix="urn:veeam:CdpReplicaSession:"),
        FieldSpec("Name", "str", "em_name(job_id, creation)", "Name"),
        FieldSpec("PolicyUid", "fk", "job_id", "PolicyUid", parent="jobs", inner="guid", inner_kind="uid", prefix="urn:veeam:CdpPolicy:"),
        FieldSpec("PolicyName", "fk", "job_id", "PolicyName", parent="jobs", inner="name", inner_kind="str"),
        FieldSpec("BackupServerUid", "fk", "server_id", "BackupServerUid", parent="servers", inner="guid", inner_kind="uid",
                  prefix="urn:veeam:BackupServer:"),
        FieldSpec("BackupServerName", "fk", "server_id", "BackupServerName", parent="servers", inner="name", inner_kind="str"),
        FieldSpec("CreationTimeUTC", "date", "creation", "CreationTimeUTC"),
        FieldSpec("EndTimeUTC", "date", "end_time", "EndTimeUTC"),
        FieldSpec("State", "enum", "state", "State", enum=JOB_STATES),
        FieldSpec("Result", "enum", "result", "Result", enum=RESULTS),
        FieldSpec("FailureMessage", "str", "failure", "FailureMessage"),
    ]


def _cdp_task_fields():
    return [
        FieldSpec("Id", "uid", "guid", "UID", prefix="urn:veeam:CdpReplicaTaskSession:"),
        FieldSpec("Name", "str", "em_vname(vm_name, creation)", "Name"),
        FieldSpec("PolicySessionUid", "fk", "session_id", "PolicySessionUid", parent="cdp_session", inner="guid", inner_kind="uid",
                  prefix="urn:veeam:CdpReplicaSession:"),
        FieldSpec("PolicySessionName", "fk", "session_id", "PolicySessionName", parent="cdp_session",
                  inner="em_name(job_id, creation)", inner_kind="str"),
        FieldSpec("BackupServerUid", "fk", "server_id", "BackupServerUid", parent="servers", inner="guid", inner_kind="uid",
                  prefix="urn:veeam:BackupServer:"),
        FieldSpec("BackupServerName", "fk", "server_id", "BackupServerName", parent="servers", inner="name", inner_kind="str"),
        FieldSpec("CreationTimeUTC", "date", "creation", "CreationTimeUTC"),
        FieldSpec("EndTimeUTC", "date", "end_time", "EndTimeUTC"),
        FieldSpec("State", "enum", "state", "State", enum=TASK_STATES),
        # Result is not in the documented CdpReplicaTaskSession filter list; accepted here (README: UNCONFIRMED).
        FieldSpec("Result", "enum", "result", "Result", enum=RESULTS),
        FieldSpec("Reason", "str", "reason", "Reason"),
        FieldSpec("TotalSize", "int", "total_size", "TotalSize"),
        FieldSpec("VmDisplayName", "str", "vm_name", "VmDisplayName"),
    ]


def _server_fields():
    return [
        FieldSpec("UID", "uid", "guid", "UID", prefix="urn:veeam:BackupServer:"),
        FieldSpec("Name", "str", "name", "Name"),
        FieldSpec("Description", "str", "description", "Description"),
        FieldSpec("IpOrDnsName", "str", "name", "Name"),
        FieldSpec("Port", "int", "port", "Port"),
        FieldSpec("Version", "str", "version", "Version"),
    ]


def _job_fields():
    return [
        FieldSpec("UID", "uid", "guid", "UID", prefix="urn:veeam:Job:"),
        FieldSpec("Name", "str", "name", "Name"),
        FieldSpec("Description", "str", "description", "Description"),
        FieldSpec("NextRun", "date", "next_run", "NextRun"),
        FieldSpec("JobType", "enum", "job_type", "JobType", enum=JOB_TYPES),
        FieldSpec("Platform", "enum", "platform", "Platform", enum=PLATFORMS),
        FieldSpec("ScheduleConfigured", "bool", "schedule_configured", "ScheduleConfigured"),
        FieldSpec("ScheduleEnabled", "bool", "schedule_enabled", "ScheduleEnabled"),
        FieldSpec("BackupServerUid", "fk", "server_id", "BackupServerUid", parent="servers", inner="guid", inner_kind="uid",
                  prefix="urn:veeam:BackupServer:"),
        FieldSpec("BackupServerName", "fk", "server_id", "BackupServerName", parent="servers", inner="name", inner_kind="str"),
    ]


class TypeSpec(object):
    """A queryable EM type: its table, names, URL collection and filter fields."""

    def __init__(self, name, table, plural, collection, fields, category, base_where="", default_sort="CreationTime"):
        self.name = name
        self.table = table
        self.plural = plural
        self.collection = collection
        self.fields = dict((f.name.lower(), f) for f in fields)
        self.field_list = fields
        self.category = category
        self.base_where = base_where
        self.default_sort = default_sort

    @property
    def ref_type(self):
        return self.name + "Reference"

    def field(self, name):
        return self.fields.get(name.lower())


TYPES = {}
for _spec in (
    TypeSpec("BackupJobSession", "backup_session", "BackupJobSessions", "backupSessions", _job_session_fields("BackupJobSession"), "job_session"),
    TypeSpec("ReplicaJobSession", "replica_session", "ReplicaJobSessions", "replicaSessions", _job_session_fields("ReplicaJobSession"),
             "job_session"),
    TypeSpec("CdpReplicaSession", "cdp_session", "CdpReplicaSessions", "cdpReplicaSessions", _cdp_session_fields(), "cdp_session"),
    TypeSpec("BackupTaskSession", "backup_task", "BackupTaskSessions", "backupTaskSessions",
             _task_fields("BackupTaskSession", "backup_session", "BackupJobSession"), "task"),
    TypeSpec("ReplicaTaskSession", "replica_task", "ReplicaTaskSessions", "replicaTaskSessions",
             _task_fields("ReplicaTaskSession", "replica_session", "ReplicaJobSession"), "task"),
    TypeSpec("CdpReplicaTaskSession", "cdp_task", "CdpReplicaTaskSessions", "cdpReplicaTaskSessions", _cdp_task_fields(), "cdp_task"),
    TypeSpec("BackupServer", "servers", "BackupServers", "backupServers", _server_fields(), "server"),
    TypeSpec("Job", "jobs", "Jobs", "jobs", _job_fields(), "job", base_where="job_type IN (%d, %d)" % (JT_BACKUP, JT_REPLICA)),
):
    TYPES[_spec.name.lower()] = _spec

COLLECTIONS = dict((t.collection.lower(), t) for t in TYPES.values())
SESSION_TYPES = ("BackupJobSession", "ReplicaJobSession", "CdpReplicaSession", "BackupTaskSession", "ReplicaTaskSession",
                 "CdpReplicaTaskSession")
# Order of the per-type lists inside QueryResult/Entities (XSD order of the older schema, CDP lists appended).
ENTITY_LISTS = ("Jobs", "BackupJobSessions", "ReplicaJobSessions", "ReplicaTaskSessions", "BackupTaskSessions", "BackupServers",
                "CdpReplicaSessions", "CdpReplicaTaskSessions")


def get_type(name):
    """Return the TypeSpec for a query type name (case-insensitive) or None."""
    return TYPES.get((name or "").lower())


def fmt_time(ms):
    """Format epoch milliseconds as ISO 8601 UTC with Z, trailing zeros of the fraction trimmed."""
    sec, frac = divmod(int(ms), 1000)
    text = "%04d-%02d-%02dT%02d:%02d:%02d" % time.gmtime(sec)[:6]
    if frac:
        text += ("." + "%03d" % frac).rstrip("0")
    return text + "Z"


def fmt_name_time(ms):
    """Timestamp part of session names: ``YYYY-MM-DD HH:MM:SS``."""
    return "%04d-%02d-%02d %02d:%02d:%02d" % time.gmtime(int(ms) // 1000)[:6]


_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?)?\s*(Z|[+-]\d{2}:?\d{2})?$", re.I)


def parse_time(text):
    """Parse a date-only or date-time value (fraction and Z/offset optional, UTC assumed) to epoch ms, or raise ValueError."""
    match = _DATE_RE.match(text.strip())
    if not match:
        raise ValueError("not a date/time value: %r" % text)
    year, month, day, hour, minute, second, frac, zone = match.groups()
    dt = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
                           tzinfo=datetime.timezone.utc)
    ms = int(dt.timestamp()) * 1000
    if frac:
        ms += int((frac + "000")[:3])
    if zone and zone.upper() != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        ms -= sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60) * 1000
    return ms
