# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What each EM query type accepts, and a builder for safe filter expressions.

Every value goes out double-quoted with inner quotes doubled, so no value can
end its predicate early: ``x";Result==Success,(VmDisplayName=="y`` stays one
string compared with one field.  Field names, operators, enum values, times and
booleans are checked here, before any request is sent.  Field names follow the
documented query parameters (em-api.md section 6), which are not always the
element names: job and task sessions filter on ``CreationTime``/``EndTime``, the
CDP types on ``CreationTimeUTC``/``EndTimeUTC`` and ``Id``.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMQueryError
from ansible_collections.opsbox.veeam_em.plugins.module_utils._records import JOB_STATES, TASK_STATES, RESULTS
from ansible_collections.opsbox.veeam_em.plugins.module_utils._times import parse_timestamp, format_filter_time

OPERATORS = ("==", "!=", "<", ">", "<=", ">=")
STRING, UID, DATE, INT, BOOL = "string", "uid", "date", "int", "bool"


class ResourceType:
    """One EM query type: its names, the collection it lives in and its filter fields."""

    def __init__(self, name, plural, collection, fields, enums, parent_field=None, aliases=None):
        self.name = name
        self.plural = plural
        self.collection = collection
        # field name -> kind; enum fields map to a tuple of allowed canonical values
        self.fields = dict(fields)
        self.enums = dict(enums)
        self.parent_field = parent_field
        self._lookup = dict((field.lower(), field) for field in list(self.fields) + list(self.enums))
        for alias, field in (aliases or {}).items():
            self._lookup[alias.lower()] = field

    def field(self, name):
        """Canonical spelling of a filter field (case-insensitive, ``snake_case`` accepted)."""
        key = str(name).replace("_", "").lower()
        if key in self._lookup:
            return self._lookup[key]
        known = ", ".join(sorted(list(self.fields) + list(self.enums)))
        raise EMQueryError("%s has no filter field %r; known fields: %s" % (self.name, name, known))

    def kind(self, field):
        return "enum" if field in self.enums else self.fields[field]


def _job_session(name, plural, collection):
    return ResourceType(
        name, plural, collection,
        fields={"UID": UID, "Name": STRING, "JobType": STRING, "JobUid": UID, "JobName": STRING,
                "CreationTime": DATE, "EndTime": DATE, "IsRetry": BOOL, "BackupServerUid": UID,
                "BackupServerName": STRING},
        enums={"State": JOB_STATES, "Result": RESULTS},
    )


def _task_session(name, plural, collection):
    return ResourceType(
        name, plural, collection,
        fields={"UID": UID, "Name": STRING, "CreationTime": DATE, "EndTime": DATE, "Reason": STRING,
                "TotalSize": INT, "JobSessionUid": UID, "JobUid": UID, "JobName": STRING,
                "BackupServerUid": UID, "BackupServerName": STRING, "VmDisplayName": STRING},
        enums={"State": TASK_STATES, "Result": RESULTS},
        parent_field="JobSessionUid",
    )


# The CDP types call their id filter ``Id`` and their times ``...UTC``; the aliases let callers use
# the job-session spelling for every type.  ``Result`` is not a documented filter for CDP task
# sessions (em-api.md section 8, item 5), so it is not offered: pass it in a raw filter if your EM takes it.
_CDP_ALIASES = {"UID": "Id", "CreationTime": "CreationTimeUTC", "EndTime": "EndTimeUTC"}

RESOURCES = dict((resource.name, resource) for resource in (
    _job_session("BackupJobSession", "BackupJobSessions", "backupSessions"),
    _job_session("ReplicaJobSession", "ReplicaJobSessions", "replicaSessions"),
    _task_session("BackupTaskSession", "BackupTaskSessions", "backupTaskSessions"),
    _task_session("ReplicaTaskSession", "ReplicaTaskSessions", "replicaTaskSessions"),
    ResourceType(
        "CdpReplicaSession", "CdpReplicaSessions", "cdpReplicaSessions",
        fields={"Id": UID, "Name": STRING, "PolicyUid": UID, "PolicyName": STRING, "BackupServerUid": UID,
                "BackupServerName": STRING, "CreationTimeUTC": DATE, "EndTimeUTC": DATE, "FailureMessage": STRING},
        enums={"State": JOB_STATES, "Result": RESULTS},
        aliases=_CDP_ALIASES,
    ),
    ResourceType(
        "CdpReplicaTaskSession", "CdpReplicaTaskSessions", "cdpReplicaTaskSessions",
        fields={"Id": UID, "Name": STRING, "PolicySessionUid": UID, "PolicySessionName": STRING,
                "BackupServerUid": UID, "BackupServerName": STRING, "CreationTimeUTC": DATE, "EndTimeUTC": DATE,
                "Reason": STRING, "TotalSize": INT, "VmDisplayName": STRING},
        enums={"State": TASK_STATES},
        parent_field="PolicySessionUid",
        aliases=_CDP_ALIASES,
    ),
))
_RESOURCE_LOOKUP = dict((name.lower(), resource) for name, resource in RESOURCES.items())


def resource_type(name):
    """The :class:`ResourceType` called *name* (case-insensitive)."""
    if isinstance(name, ResourceType):
        return name
    resource = _RESOURCE_LOOKUP.get(str(name).replace("_", "").lower())
    if resource is None:
        raise EMQueryError("unknown resource type %r; known: %s" % (name, ", ".join(sorted(RESOURCES))))
    return resource


def quote(value):
    """EM string literal: double quotes around, inner double quotes doubled."""
    return '"%s"' % value.replace('"', '""')


def _render(resource, field, value):
    kind = resource.kind(field)
    if kind == "enum":
        allowed = resource.enums[field]
        spelled = dict((item.lower(), item) for item in allowed).get(str(value).lower()) if isinstance(value, str) else None
        if spelled is None:
            raise EMQueryError("%s.%s does not take %r; allowed: %s" % (resource.name, field, value, ", ".join(allowed)))
        return quote(spelled)
    if kind == DATE:
        try:
            moment = parse_timestamp(value) if not isinstance(value, (int, float)) else None
        except ValueError:
            moment = None
        if moment is None:
            raise EMQueryError("%s.%s needs a date and time (ISO 8601 or datetime), not %r" % (resource.name, field, value))
        return quote(format_filter_time(moment))
    if kind == BOOL:
        if isinstance(value, bool):
            flag = value
        elif isinstance(value, str) and value.strip().lower() in ("true", "false", "yes", "no"):
            flag = value.strip().lower() in ("true", "yes")
        else:
            raise EMQueryError("%s.%s needs true or false, not %r" % (resource.name, field, value))
        return quote("true" if flag else "false")
    if kind == INT:
        if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit())):
            raise EMQueryError("%s.%s needs a whole number, not %r" % (resource.name, field, value))
        return quote(str(int(value)))
    if not isinstance(value, str):
        raise EMQueryError("%s.%s needs a string, not %r" % (resource.name, field, value))
    return quote(value)


def predicate(resource, field, op, value):
    """One comparison; a list value becomes an OR group (``==``) or an AND group (``!=``)."""
    resource = resource_type(resource)
    field = resource.field(field)
    if op not in OPERATORS:
        raise EMQueryError("unknown operator %r; use one of %s" % (op, " ".join(OPERATORS)))
    if isinstance(value, (list, tuple, set, frozenset)):
        values = list(value)
        if not values:
            raise EMQueryError("%s.%s was given an empty list" % (resource.name, field))
        if op not in ("==", "!="):
            raise EMQueryError("a list of values needs == or !=, not %s" % op)
        parts = ["%s%s%s" % (field, op, _render(resource, field, item)) for item in values]
        if len(parts) == 1:
            return parts[0]
        return "(%s)" % (("," if op == "==" else ";").join(parts))
    if value is not None:
        return "%s%s%s" % (field, op, _render(resource, field, value))
    raise EMQueryError("%s.%s was given no value" % (resource.name, field))


def check_raw_filter(text):
    """Reject a raw filter with unbalanced quotes or parentheses before EM sees it."""
    depth = 0
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes  # a doubled quote toggles twice: still correct
        elif not in_quotes and char == "(":
            depth += 1
        elif not in_quotes and char == ")":
            depth -= 1
            if depth < 0:
                break
    if in_quotes or depth != 0:
        raise EMQueryError("the filter %r has unbalanced quotes or parentheses" % (text,))


def build_filter(resource, predicates=None, raw_filter=None):
    """The ``filter`` parameter: all predicates ANDed, the user's raw filter ANDed in parentheses.

    *predicates* is a mapping ``{field: value or [values]}`` (equality) or an
    iterable of ``(field, operator, value)`` triples.  Returns None for no filter.
    """
    resource = resource_type(resource)
    items = predicates or ()
    if isinstance(items, dict):
        items = [(field, "==", value) for field, value in items.items()]
    parts = []
    for item in items:
        try:
            field, op, value = item
        except (TypeError, ValueError):
            raise EMQueryError("a predicate is a (field, operator, value) triple, not %r" % (item,))
        parts.append(predicate(resource, field, op, value))
    if raw_filter is not None and str(raw_filter).strip():
        raw = str(raw_filter).strip()
        check_raw_filter(raw)
        parts.append("(%s)" % raw)
    return ";".join(parts) if parts else None


def sort_params(resource, sort):
    """``{"sortDesc": field}`` / ``{"sortAsc": field}`` from ``"-CreationTime"``, ``"creation_time desc"`` or a pair."""
    if not sort:
        return {}
    resource = resource_type(resource)
    if isinstance(sort, (list, tuple)):
        field, direction = sort
    else:
        text = str(sort).strip()
        direction = "asc"
        if text.startswith("-"):
            text, direction = text[1:], "desc"
        elif " " in text:
            text, direction = text.rsplit(" ", 1)
        field = text
    direction = str(direction).strip().lower()
    if direction not in ("asc", "desc"):
        raise EMQueryError("sort direction must be asc or desc, not %r" % (direction,))
    field = resource.field(field.strip())
    return {"sortDesc" if direction == "desc" else "sortAsc": field}


def query_params(resource, predicates=None, raw_filter=None, sort=None):
    """Query-string parameters (without paging) for ``GET /api/query``."""
    resource = resource_type(resource)
    params = {"type": resource.name, "format": "Entities"}
    expression = build_filter(resource, predicates, raw_filter)
    if expression:
        params["filter"] = expression
    params.update(sort_params(resource, sort))
    return params
