"""Fault injection for /api requests: latency, spikes, 5xx, 429, connection resets, truncated bodies, token expiry,
logon cap, and body mutators.

Every request draws the same number of random numbers from one RNG seeded with ``--fault-seed`` (in request
order), so a failing test reproduces.  ``plan()`` decides what happens to a request before it is handled;
mutators rewrite a finished Response; truncation happens while sending.  New hostile-body mutators are added by
registering a function in ``MUTATORS``; no other code needs to change.
"""

import copy
import json
import random
import re
import threading

DEFAULTS = {
    "latency_ms": 0,
    "per_record_us": 0,
    "latency_spike": {"rate": 0.0, "ms": 0},
    "error_rate": 0.0,
    "error_statuses": [500, 502, 503],
    "fail_next": {"count": 0, "status": 503},
    "throttle_rate": 0.0,
    "throttle_next": 0,
    "retry_after": 1,
    "reset_rate": 0.0,
    "reset_next": 0,
    "truncate_rate": 0.0,
    "truncate_next": 0,
    "token_expire_after": 0,
    "max_sessions": 0,
    "mutators": {},
}
ERROR_MESSAGES = {
    500: "Internal server error (injected fault).",
    502: "Bad gateway (injected fault).",
    503: "The service is unavailable (injected fault).",
    504: "Gateway timeout (injected fault).",
    429: "Too many requests (injected fault).",
}


class Plan(object):
    """What the fault engine decided for one request."""

    def __init__(self):
        self.delay_ms = 0
        self.reset = False
        self.status = None
        self.retry_after = None
        self.truncate = False
        self.mutators = []
        self.kinds = []


def _html_200(resp):
    resp.status = 200
    resp.content_type = "text/html; charset=utf-8"
    resp.body = b"<!DOCTYPE html><html><head><title>Sign in</title></head><body><form method='post'>" \
                b"<input name='user'/><input type='password' name='password'/></form></body></html>"
    return resp


def _invalid_utf8(resp):
    cut = len(resp.body) // 2
    resp.body = resp.body[:cut] + b"\xff\xfe\xc3(" + resp.body[cut:]
    return resp


def _oversized(resp, megabytes=8):
    pad = b" " * (megabytes * 1024 * 1024)
    if resp.body.startswith(b"<?xml"):
        end = resp.body.index(b"?>") + 2
        resp.body = resp.body[:end] + b"<!--" + pad + b"-->" + resp.body[end:]
    else:
        resp.body = pad + resp.body
    return resp


def _huge(resp, declared=True, megabytes=1024):
    """A body of ``megabytes`` MiB streamed in chunks: XML whose comment never seems to end.

    With ``declared`` the Content-Length says the full size (a client can refuse it from the headers); without it
    the answer is delimited by closing the connection, so a client has to count while reading.  The simulator
    never holds the body in memory and stops sending when the client hangs up.
    """
    head = b'<?xml version="1.0" encoding="utf-8"?><QueryResult><!--'
    tail = b"--></QueryResult>"
    chunk = b" " * (256 * 1024)
    total = megabytes * 1024 * 1024
    count = max(0, (total - len(head) - len(tail)) // len(chunk))

    def chunks():
        yield head
        for _index in range(count):
            yield chunk
        yield tail
    resp.status = 200
    resp.content_type = "application/xml; charset=utf-8"
    resp.body = b""
    resp.stream = chunks()
    resp.stream_length = len(head) + count * len(chunk) + len(tail) if declared else None
    return resp


def _huge_undeclared(resp):
    return _huge(resp, declared=False)


_XML_PROLOG = b'<?xml version="1.0" encoding="utf-8"?>'


def _xml_with_doctype(resp, doctype, reference):
    """Put ``doctype`` before the root element and ``reference`` as the root's first content."""
    body = resp.body
    if body.startswith(b"\xef\xbb\xbf"):
        body = body[3:]
    if not body.lstrip().startswith(b"<"):
        body = _XML_PROLOG + b"<QueryResult></QueryResult>"  # a JSON answer: send XML instead
        resp.content_type = "application/xml; charset=utf-8"
    start = body.index(b"?>") + 2 if body.startswith(b"<?xml") else 0
    root_end = body.index(b">", body.index(b"<", start)) + 1
    if body[root_end - 2:root_end] == b"/>":  # an empty root element <Root/>: open it
        name = re.match(br"<\s*([^\s/>]+)", body[body.index(b"<", start):]).group(1)
        body = body[:root_end - 2] + b"></" + name + b">" + body[root_end:]
        root_end -= 1
    resp.body = body[:start] + doctype + body[start:root_end] + reference + body[root_end:]
    return resp


def _billion_laughs(resp):
    """The classic entity expansion: ten levels of ten references, 10**9 copies of "lol" once expanded."""
    levels = [b'<!ENTITY lol0 "lol">']
    for level in range(1, 10):
        refs = (b"&lol%d;" % (level - 1)) * 10
        levels.append(b'<!ENTITY lol%d "%s">' % (level, refs))
    doctype = b"<!DOCTYPE QueryResult [" + b"".join(levels) + b"]>"
    return _xml_with_doctype(resp, doctype, b"<Name>&lol9;</Name>")


def _external_entity(resp):
    """An external SYSTEM entity that would read a local file into the document (XXE)."""
    doctype = b'<!DOCTYPE QueryResult [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    return _xml_with_doctype(resp, doctype, b"<Name>&xxe;</Name>")


def _json_rewrite(resp, change):
    """Decode a JSON answer, let ``change`` rewrite it, encode it again; XML answers stay as they are."""
    body = resp.body
    bom = body.startswith(b"\xef\xbb\xbf")
    try:
        doc = json.loads(body.decode("utf-8-sig"))
    except ValueError:
        return resp
    data = json.dumps(change(doc), ensure_ascii=False).encode("utf-8")
    resp.body = (b"\xef\xbb\xbf" if bom else b"") + data
    return resp


def _records_in(value):
    """Every dict below ``value`` that looks like an EM record (has a UID key in either casing)."""
    if isinstance(value, dict):
        if "UID" in value or "uid" in value:
            yield value
        for item in value.values():
            yield from _records_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from _records_in(item)


def _wrong_json_types(resp):
    """Numbers where EM sends strings: every record's UID, Name and creation time become JSON numbers."""
    def change(doc):
        for record in list(_records_in(doc)):
            for key in list(record):
                if key.lower() in ("uid", "name", "creationtimeutc", "vmdisplayname"):
                    record[key] = 12345
        return doc
    return _json_rewrite(resp, change)


def _json_list_root(resp):
    """A JSON list where EM sends an object: the whole document wrapped in ``[...]``."""
    return _json_rewrite(resp, lambda doc: [doc])


def _wrong_container_types(resp):
    """``Entities`` a list of the records instead of an object, ``Refs`` a string instead of an object."""
    def change(doc):
        if isinstance(doc, dict):
            for key in list(doc):
                if key.lower() == "entities" and doc[key] is not None:
                    doc[key] = list(_records_in(doc[key]))
                elif key.lower() == "refs" and doc[key] is not None:
                    doc[key] = "Refs"
        return doc
    return _json_rewrite(resp, change)


_XML_UID_ATTR = re.compile(br'\sUID="[^"]*"')
_XML_CREATION = re.compile(br"<CreationTimeUTC>[^<]*</CreationTimeUTC>")


def _missing_fields(resp):
    """Records without their required fields: ``UID`` and ``CreationTimeUTC`` removed (XML and JSON)."""
    if resp.body.lstrip(b"\xef\xbb\xbf \r\n").startswith(b"<"):
        resp.body = _XML_CREATION.sub(b"", _XML_UID_ATTR.sub(b"", resp.body))
        return resp

    def change(doc):
        for record in list(_records_in(doc)):
            for key in list(record):
                if key.lower() in ("uid", "creationtimeutc"):
                    del record[key]
        return doc
    return _json_rewrite(resp, change)


def _bom(resp):
    """A UTF-8 byte order mark before the body (XML or JSON)."""
    if not resp.body.startswith(b"\xef\xbb\xbf"):
        resp.body = b"\xef\xbb\xbf" + resp.body
    return resp


MUTATORS = {
    "html_200": _html_200,
    "invalid_utf8": _invalid_utf8,
    "oversized": _oversized,
    "huge": _huge,
    "huge_undeclared": _huge_undeclared,
    "billion_laughs": _billion_laughs,
    "external_entity": _external_entity,
    "wrong_json_types": _wrong_json_types,
    "json_list_root": _json_list_root,
    "wrong_container_types": _wrong_container_types,
    "missing_fields": _missing_fields,
    "bom": _bom,
}


def merge(base, update):
    """Deep-merge ``update`` into a copy of ``base``; unknown keys raise ValueError."""
    out = copy.deepcopy(base)
    for key, value in (update or {}).items():
        if key not in DEFAULTS and key != "seed":
            raise ValueError("unknown fault option %r" % key)
        if key == "mutators":
            for name in value:
                if name not in MUTATORS:
                    raise ValueError("unknown mutator %r (known: %s)" % (name, ", ".join(sorted(MUTATORS))))
            out[key] = copy.deepcopy(value)
        elif isinstance(DEFAULTS.get(key), dict) and isinstance(value, dict):
            out[key].update(value)
        else:
            out[key] = value
    return out


class FaultEngine(object):
    """Thread-safe holder of the fault configuration and its RNG."""

    def __init__(self, config=None, seed=0):
        self._lock = threading.Lock()
        self.seed = seed
        self._rng = random.Random(seed)
        self.config = merge(DEFAULTS, config)
        self.injected = {}

    def set(self, config, replace=True):
        with self._lock:
            base = DEFAULTS if replace else self.config
            cfg = merge(base, config)
            if "seed" in cfg:
                self.seed = cfg.pop("seed")
                self._rng = random.Random(self.seed)
            self.config = cfg
            return copy.deepcopy(self.config)

    def clear(self):
        return self.set({})

    def get(self):
        with self._lock:
            out = copy.deepcopy(self.config)
            out["seed"] = self.seed
            return out

    def value(self, key):
        with self._lock:
            return self.config[key]

    def count(self, kind, n=1):
        with self._lock:
            self.injected[kind] = self.injected.get(kind, 0) + n

    def reset_counts(self):
        with self._lock:
            self.injected = {}

    def _take_next(self, key):
        cfg = self.config
        if isinstance(cfg[key], dict):
            if cfg[key].get("count", 0) > 0:
                cfg[key]["count"] -= 1
                return True
            return False
        if cfg[key] > 0:
            cfg[key] -= 1
            return True
        return False

    def plan(self, path=None):
        """Decide the faults of one /api request (``path``: its URL path, for mutators limited to some paths)."""
        plan = Plan()
        with self._lock:
            cfg = self.config
            rolls = [self._rng.random() for _attempt in range(6)]
            plan.delay_ms = cfg["latency_ms"]
            if rolls[0] < cfg["latency_spike"]["rate"]:
                plan.delay_ms += cfg["latency_spike"]["ms"]
                plan.kinds.append("latency_spike")
            if self._take_next("reset_next") or rolls[1] < cfg["reset_rate"]:
                plan.reset = True
                plan.kinds.append("reset")
            elif self._take_next("fail_next"):
                plan.status = int(cfg["fail_next"].get("status", 503))
                plan.kinds.append("status_%d" % plan.status)
            elif rolls[2] < cfg["error_rate"]:
                statuses = cfg["error_statuses"] or [500]
                plan.status = int(statuses[int(rolls[3] * len(statuses))])
                plan.kinds.append("status_%d" % plan.status)
            elif self._take_next("throttle_next") or rolls[4] < cfg["throttle_rate"]:
                plan.status = 429
                plan.retry_after = cfg["retry_after"]
                plan.kinds.append("status_429")
            if not plan.reset and (self._take_next("truncate_next") or rolls[5] < cfg["truncate_rate"]):
                plan.truncate = True
                plan.kinds.append("truncate")
            for name, spec in sorted(cfg["mutators"].items()):
                roll = self._rng.random()
                if spec.get("path") and spec["path"].lower() not in (path or "").lower():
                    continue  # the roll above is still drawn, so other requests see the same numbers
                if spec.get("next", 0) > 0:
                    spec["next"] -= 1
                    plan.mutators.append(name)
                elif roll < spec.get("rate", 0.0):
                    plan.mutators.append(name)
            plan.kinds.extend("mutator_" + m for m in plan.mutators)
            for kind in plan.kinds:
                self.injected[kind] = self.injected.get(kind, 0) + 1
        return plan


def apply_mutators(names, resp):
    for name in names:
        resp = MUTATORS[name](resp)
    return resp
