"""Fault injection for /api requests: latency, spikes, 5xx, 429, connection resets, truncated bodies, token expiry,
logon cap, and body mutators.

Every request draws the same number of random numbers from one RNG seeded with ``--fault-seed`` (in request
order), so a failing test reproduces.  ``plan()`` decides what happens to a request before it is handled;
mutators rewrite a finished Response; truncation happens while sending.  New hostile-body mutators are added by
registering a function in ``MUTATORS``; no other code needs to change.
"""

import copy
import random
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


MUTATORS = {"html_200": _html_200, "invalid_utf8": _invalid_utf8, "oversized": _oversized}


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

    def plan(self):
        """Decide the faults of one /api request."""
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
