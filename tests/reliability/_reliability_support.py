# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared pieces of the reliability suite (issue 8): running the entry points, checking them
against the simulator's ground truth, planning faults, and scanning everything for secrets.

Every entry point runs as a real Ansible process (``ansible`` ad hoc for the modules,
``ansible-inventory --list`` for the inventory plugin, ``ansible-playbook`` for the role)
under a hard timeout, against one simulator that the tests share.
"""

from __future__ import annotations

import base64
import json
import os
import random
import re
import signal
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIMULATOR_ROOT = os.path.join(ROOT, "tests", "simulator")
SIMULATOR_CACHE = os.path.join(ROOT, ".cache", "simulator")
if SIMULATOR_ROOT not in sys.path:
    sys.path.insert(0, SIMULATOR_ROOT)

# A password nobody would write by chance, so that a hit in any output is this suite's password.
CANARY_PASSWORD = "RelCanary-7Qz!pw:x9"
# A run that takes longer than this is a hang, whatever the case expected.
HARD_TIMEOUT = 180

# The five info modules: result key, query type, extra module options, creation-time field of the query type.
MODULES = {
    "task_session_info": ("task_sessions", "ReplicaTaskSession", {"session_type": "replica"}, "CreationTime"),
    "replica_session_info": ("replica_sessions", "ReplicaJobSession", {}, "CreationTime"),
    "backup_session_info": ("backup_sessions", "BackupJobSession", {}, "CreationTime"),
    "cdp_session_info": ("cdp_sessions", "CdpReplicaSession", {}, "CreationTimeUTC"),
    "cdp_task_session_info": ("cdp_task_sessions", "CdpReplicaTaskSession", {}, "CreationTimeUTC"),
}
ENTRY_POINTS = tuple("module:" + name for name in MODULES) + ("inventory", "role")

# Position of each fault's random number among the six the simulator draws per request (faults.py plan()).
ROLL_INDEX = {"latency_spike": 0, "reset": 1, "error": 2, "throttle": 4, "truncate": 5}
ROLLS_PER_REQUEST = 6

# Base64 of a GUID string: how the simulator (like EM) forms the X-RestSvcSessionId token.
_TOKEN_CANDIDATE = re.compile(r"(?<![A-Za-z0-9+/])[A-Za-z0-9+/]{48}(?![A-Za-z0-9+/=])")
_GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
_REQUEST_LINE = re.compile(r'"(GET|POST|DELETE|PUT|PATCH|HEAD) (/api/\S*) HTTP/1\.[01]"')
_SESSION_PATH = re.compile(r"/api/logonSessions/([0-9a-fA-F-]{36})")


# ---------------------------------------------------------------------------- secrets

def basic_value(username, password):
    """The value of the Basic Authorization header the client sends at logon."""
    return base64.b64encode(("%s:%s" % (username, password)).encode("utf-8")).decode("ascii")


def token_of(session_id):
    """The token EM (and the simulator) hands out for a logon session id."""
    return base64.b64encode(session_id.lower().encode("ascii")).decode("ascii")


def looks_like_token(candidate):
    """True when a 48-character base64 word decodes to a GUID: a session token, whoever issued it."""
    try:
        decoded = base64.b64decode(candidate, validate=True).decode("ascii")
    except (ValueError, UnicodeDecodeError):
        return False
    return bool(_GUID.match(decoded.lower()))


def secret_hits(text, secrets):
    """Names of the secrets found in ``text``; any session token counts, known or not."""
    hits = sorted(name for name, value in secrets.items() if value and value in text)
    if any(looks_like_token(match.group(0)) for match in _TOKEN_CANDIDATE.finditer(text)):
        hits.append("a session token")
    return hits


def scan_outputs(texts, folders, secrets):
    """Scan named texts and every file below ``folders``; return ``["<where>: <secret>", ...]``."""
    found = []
    for where, text in texts.items():
        found.extend("%s: %s" % (where, hit) for hit in secret_hits(text or "", secrets))
    for folder in folders:
        for dirpath, dummy, filenames in os.walk(folder):
            for name in filenames:
                path = os.path.join(dirpath, name)
                with open(path, "rb") as handle:
                    text = handle.read().decode("utf-8", "replace")
                found.extend("%s: %s" % (path, hit) for hit in secret_hits(text, secrets))
    return found


# ---------------------------------------------------------------------------- the simulator's request log

def log_offset(path):
    """Where the simulator's request log ends now."""
    return os.path.getsize(path)


def requests_since(path, offset):
    """``[(method, path), ...]`` of the /api requests logged after ``offset``, in the order they were answered."""
    with open(path, "rb") as handle:
        handle.seek(offset)
        text = handle.read().decode("utf-8", "replace")
    return [(match.group(1), match.group(2)) for match in _REQUEST_LINE.finditer(text)]


def session_ids_in(requests):
    """Logon session ids named by the logoffs of a request list."""
    return sorted(set(match.group(1).lower() for dummy, path in requests for match in [_SESSION_PATH.search(path)] if match))


# ---------------------------------------------------------------------------- fault planning

def request_rolls(rng):
    """The six random numbers the simulator draws for one request."""
    return [rng.random() for dummy in range(ROLLS_PER_REQUEST)]


def simulate_transient(sequence, seed, roll, rate, max_hits_per_request):
    """Faults a seed gives a run that makes ``sequence`` (methods, in order) one request at a time.

    Returns the number of faults injected, or None when the seed is unusable: a fault on a
    request that is never retried (logon, logoff), or more consecutive faults on one read than
    ``max_hits_per_request``. Only reads (GET) fail; each failed read is sent again.
    """
    rng = random.Random(seed)
    injected = 0
    for method in sequence:
        hits = 0
        while request_rolls(rng)[roll] < rate:
            if method != "GET":
                return None
            hits += 1
            injected += 1
            if hits > max_hits_per_request:
                return None
    return injected


def simulate_persistent(sequence, seed, roll, rate, attempts, target):
    """True when a seed makes exactly the read ``sequence[target]`` fail ``attempts`` times in a row.

    Every request before it must pass, and so must the logoff that follows (the run gives up
    after that read, logs off and stops).
    """
    rng = random.Random(seed)
    for dummy in sequence[:target]:
        if request_rolls(rng)[roll] < rate:
            return False
    for dummy in range(attempts):
        if request_rolls(rng)[roll] >= rate:
            return False
    return request_rolls(rng)[roll] >= rate


def find_logoff_seed(sequence, roll, rate, limit=200000):
    """A seed under which only the last request (the last logoff) fails, once, and its second attempt passes."""
    for seed in range(1, limit):
        rng = random.Random(seed)
        if any(request_rolls(rng)[roll] < rate for dummy in sequence[:-1]):
            continue
        if request_rolls(rng)[roll] < rate and request_rolls(rng)[roll] >= rate:
            return seed
    raise AssertionError("no fault seed below %d fits this request sequence" % limit)


def methods_of(requests):
    """Just the methods of a request list."""
    return [method for method, dummy in requests]


def persistent_target(requests):
    """Index of the second query read after the first logon (a read in the middle of paging), or the first."""
    logon = next(index for index, (method, dummy) in enumerate(requests) if method == "POST")
    reads = [index for index, (method, path) in enumerate(requests) if index > logon and method == "GET"
             and not path.startswith("/api/logonSessions")]
    return reads[1] if len(reads) > 1 else reads[0]


def find_transient_seed(sequence, roll, rate, max_hits_per_request=2, minimum=2, limit=200000):
    """A seed (and its fault count) that injects at least ``minimum`` faults, all on retried reads."""
    for seed in range(1, limit):
        injected = simulate_transient(sequence, seed, roll, rate, max_hits_per_request)
        if injected is not None and injected >= minimum:
            return seed, injected
    raise AssertionError("no fault seed below %d fits this request sequence" % limit)


def find_persistent_seed(sequence, roll, rate, attempts, target, limit=200000):
    """A seed that makes the read at ``target`` fail ``attempts`` times and nothing else fail."""
    for seed in range(1, limit):
        if simulate_persistent(sequence, seed, roll, rate, attempts, target):
            return seed
    raise AssertionError("no fault seed below %d fits this request sequence" % limit)


# ---------------------------------------------------------------------------- running things

class Run:
    """What one process did."""

    def __init__(self, returncode, stdout, stderr, wall, timed_out):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.wall = wall
        self.timed_out = timed_out

    def __repr__(self):
        return "Run(rc=%r, %.1f s, timed_out=%r)" % (self.returncode, self.wall, self.timed_out)

    def tail(self, size=3000):
        """The end of both outputs, for assertion messages."""
        return "--- stdout\n%s\n--- stderr\n%s" % (self.stdout[-size:], self.stderr[-size:])


def run_process(command, env, timeout=HARD_TIMEOUT, cwd=None):
    """Run a command in its own process group; kill the whole group when it overstays ``timeout``."""
    started = time.monotonic()
    process = subprocess.Popen(command, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,  # pylint: disable=consider-using-with
                               start_new_session=True)
    timed_out = False
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
    return Run(process.returncode, stdout.decode("utf-8", "replace"), stderr.decode("utf-8", "replace"),
               time.monotonic() - started, timed_out)


def run_measured(command, env, timeout=HARD_TIMEOUT, stdout_path=os.devnull):
    """Run a command and return (exit code, wall seconds, peak RSS in MB) from ``os.wait4``.

    ``wait4`` reports the child's own peak resident set, measured by the kernel, so the
    figure is the process's real peak and not a sample.
    """
    started = time.monotonic()
    with open(stdout_path, "wb") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT,  # pylint: disable=consider-using-with
                                   start_new_session=True)
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                os.killpg(process.pid, signal.SIGKILL)
                pid, status, usage = os.wait4(process.pid, 0)
                break
            time.sleep(0.2)
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, time.monotonic() - started, usage.ru_maxrss / 1024.0


def ansible_env(collections, workdir):
    """Environment of every Ansible process of the suite."""
    env = dict(os.environ)
    for name in ("PYTHONPATH", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        env.pop(name, None)
    for name in [key for key in env if key.startswith("VEEAM_EM_")]:
        env.pop(name)
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collections,
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_DEPRECATION_WARNINGS": "false",
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_HOST_KEY_CHECKING": "false",
        "ANSIBLE_STDOUT_CALLBACK": "default",
    })
    return env


def collections_tree(base):
    """An ansible_collections tree under ``base`` whose opsbox/veeam_em is this checkout.

    ``RELIABILITY_COLLECTION=<folder>`` points it at another copy of the collection instead, to
    run the suite against a candidate fix without touching the checkout.
    """
    parent = os.path.join(base, "ansible_collections", "opsbox")
    os.makedirs(parent, exist_ok=True)
    link = os.path.join(parent, "veeam_em")
    if not os.path.lexists(link):
        os.symlink(os.path.abspath(os.environ.get("RELIABILITY_COLLECTION") or ROOT), link)
    return base


def adhoc_result(stdout):
    """The JSON result ``ansible`` prints for localhost (``localhost | SUCCESS => {...}`` or ``FAILED! =>``)."""
    match = re.search(r"^localhost \| (SUCCESS|FAILED!|CHANGED) => ", stdout, flags=re.MULTILINE)
    if not match:
        return None
    value, dummy = json.JSONDecoder().raw_decode(stdout[match.end():])
    if match.group(1) == "FAILED!":
        # The ad hoc display drops the result's own "failed" key; the banner says it.
        value["failed"] = True
    return value


def plain(value):
    """A value of ``ansible-inventory --list`` output without its ``__ansible_unsafe`` wrapper."""
    if isinstance(value, dict) and "__ansible_unsafe" in value:
        return value["__ansible_unsafe"]
    return value


def iso(moment):
    """Aware datetime -> ISO 8601 with milliseconds and Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_iso(text):
    """The simulator's ISO 8601 times -> aware datetime."""
    return datetime.strptime(text[:19], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)


def latest_truth(sim, since, until, kinds=("replica", "cdp")):
    """Newest task UID per source and (backup server, VM) created in [since, until], from the simulator."""
    answer = {}
    for kind in kinds:
        rows = sim.truth("latest_tasks", kind=kind, since=since, until=until)
        answer[kind] = dict(("%s|%s" % (row["BackupServerName"], row["VmDisplayName"]), row["UID"]) for row in rows)
    return answer


def inventory_answer(data, prefix="veeam_"):
    """The same shape as :func:`latest_truth`, read from ``ansible-inventory --list`` output."""
    answer = {"replica": {}, "cdp": {}}
    for hostvars in data["_meta"]["hostvars"].values():
        for source in answer:
            entry = hostvars.get(prefix + source)
            if entry:
                key = "%s|%s" % (plain(hostvars[prefix + "backup_server_name"]), plain(hostvars[prefix + "vm_name"]))
                answer[source][key] = plain(entry["task_uid"])
    return answer


def report_answer(report):
    """The same shape as :func:`latest_truth`, read from the role's JSON report."""
    answer = {"replica": {}, "cdp": {}}
    for row in report["vms"]:
        for source, check in row["checks"].items():
            if source in answer and check.get("task_uid"):
                answer[source]["%s|%s" % (row["backup_server_name"], row["vm_name"])] = check["task_uid"]
    return answer


def module_truth(sim, module):
    """``{uid: (result, state)}`` of every record a module reads with no selection option."""
    dummy, query_type, dummy2, sort_field = MODULES[module]
    rows = sim.truth("query", type=query_type, sortDesc=sort_field)
    return dict((row["UID"], (row.get("Result"), row.get("State"))) for row in rows)


def module_answer_problems(result, module, truth):
    """Why a module result differs from the truth (empty list: it equals the truth exactly)."""
    key = MODULES[module][0]
    problems = []
    if result is None:
        return ["no result found in the output"]
    if result.get("failed"):
        return ["the module failed: %s" % result.get("msg")]
    records = result.get(key)
    if not isinstance(records, list):
        return ["the result has no %s list" % key]
    answer = dict((record["uid"], (record.get("result"), record.get("state"))) for record in records)
    if len(answer) != len(records):
        problems.append("duplicate records: %d records, %d distinct" % (len(records), len(answer)))
    if answer != truth:
        missing = sorted(set(truth) - set(answer))
        extra = sorted(set(answer) - set(truth))
        changed = sorted(uid for uid in set(answer) & set(truth) if answer[uid] != truth[uid])
        problems.append("differs from the truth: %d missing, %d extra, %d changed (%s)"
                        % (len(missing), len(extra), len(changed), (missing + extra + changed)[:3]))
    times = [record.get("creation_time") for record in records]
    if times != sorted(times, reverse=True):
        problems.append("records are not newest first")
    if result.get("summary", {}).get("total") != len(records):
        problems.append("summary.total %r != %d records" % (result.get("summary", {}).get("total"), len(records)))
    return problems


def window(now_text, hours):
    """(since, until) ISO strings of a window of ``hours`` ending at the simulator's data clock."""
    until = parse_iso(now_text)
    return iso(until - timedelta(hours=hours)), iso(until)


# ---------------------------------------------------------------------------- one simulator, many cases

class Outcome:
    """One entry point run: the process, its parsed answer and where its output files are."""

    def __init__(self, entry, run, answer, case_dir, output_dir, requests):
        self.entry = entry
        self.run = run
        self.answer = answer
        self.case_dir = case_dir
        self.output_dir = output_dir
        self.requests = requests


class Harness:
    """The shared simulator and what the cases need around it: connection options, runs, truth, scans."""

    def __init__(self, sim, log_path, base):
        self.sim = sim
        self.log_path = log_path
        self.base = base
        self.collections = collections_tree(os.path.join(base, "collections"))
        self.bindir = os.path.dirname(sys.executable)
        self.env = ansible_env(self.collections, base)
        self.secrets = {"password": CANARY_PASSWORD, "Basic auth value": basic_value(sim.username, CANARY_PASSWORD)}
        self._truth = {}
        self._cases = 0

    # -- simulator state ---------------------------------------------------------------------------------
    def reset(self):
        """Back to a clean server: no faults, default switches, request log on, counters zero."""
        self.sim.clear_faults()
        self.sim.configure(dialect="v12", bom=False, default_page_size=100, max_page_size=0, session_timeout=900,
                           verbose=True)
        self.sim.reset_stats()

    def open_sessions(self):
        """Logon sessions the simulator holds open now."""
        return self.sim.stats()["open_sessions"]

    # -- options and truth ---------------------------------------------------------------------------------
    def connection(self, **overrides):
        """Connection options of a case: small pages so that faults land in the middle of paging."""
        options = {"url": self.sim.url, "username": self.sim.username, "password": self.sim.password,
                   "ca_path": self.sim.ca_path, "timeout": 5, "retries": 4, "retry_deadline": 30, "page_size": 10,
                   "concurrency": 1}
        options.update(overrides)
        return options

    def role_now(self):
        """The role's moment of judgement: the simulator's data clock in whole seconds."""
        return self.sim.now[:19] + "Z"

    def truth(self, entry):
        """The ground truth an entry point must reproduce (cached: the data clock does not move)."""
        if entry not in self._truth:
            if entry.startswith("module:"):
                self._truth[entry] = module_truth(self.sim, entry.split(":", 1)[1])
            elif entry == "inventory":
                since = iso(datetime.now(timezone.utc) - timedelta(days=7))
                self._truth[entry] = latest_truth(self.sim, since, self.sim.now)
            else:
                now = parse_iso(self.role_now())
                self._truth[entry] = latest_truth(self.sim, (now - timedelta(hours=168)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                                                  self.role_now())
        return self._truth[entry]

    # -- running -------------------------------------------------------------------------------------------
    def case_dir(self, label):
        """A fresh folder for one case: input/ (files holding the password by design) and output/."""
        self._cases += 1
        path = os.path.join(self.base, "cases", "%03d-%s" % (self._cases, re.sub(r"[^A-Za-z0-9_.-]", "_", label)))
        os.makedirs(os.path.join(path, "input"))
        os.makedirs(os.path.join(path, "output"))
        return path

    def run(self, entry, connection, label="case", verbosity=0, cache=False, extra_env=None, timeout=HARD_TIMEOUT):
        """Run one entry point with ``connection`` options; return an :class:`Outcome`."""
        case = self.case_dir("%s-%s" % (entry, label))
        output = os.path.join(case, "output")
        env = dict(self.env, ANSIBLE_LOG_PATH=os.path.join(output, "ansible.log"))
        env.update(extra_env or {})
        verbose = ["-" + "v" * verbosity] if verbosity else []
        offset = log_offset(self.log_path)
        if entry.startswith("module:"):
            module = entry.split(":", 1)[1]
            args = dict(connection, **MODULES[module][2])
            command = [os.path.join(self.bindir, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                       "-e", "ansible_python_interpreter=%s" % sys.executable, "-m", "opsbox.veeam_em." + module,
                       "-a", json.dumps(args)] + verbose
            run = run_process(command, env, timeout)
            answer = adhoc_result(run.stdout)
        elif entry == "inventory":
            source = os.path.join(case, "input", "em.veeam_em.yml")
            config = dict(connection, plugin="opsbox.veeam_em.veeam_em")
            if cache:
                config.update({"cache": True, "cache_plugin": "ansible.builtin.jsonfile",
                               "cache_connection": os.path.join(output, "inventory-cache"), "cache_timeout": 3600})
            with open(source, "w") as handle:
                json.dump(config, handle)
            result = os.path.join(output, "inventory.json")
            env["ANSIBLE_INVENTORY_UNPARSED_FAILED"] = "true"
            env["ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED"] = "true"
            run = run_process([os.path.join(self.bindir, "ansible-inventory"), "-i", source, "--list",
                               "--output", result] + verbose, env, timeout)
            answer = None
            if run.returncode == 0 and os.path.exists(result):
                with open(result) as handle:
                    answer = json.load(handle)
        else:
            playbook = os.path.join(case, "input", "compliance.yml")
            report_dir = os.path.join(output, "report")
            play = [{
                "name": "Replica compliance under faults", "hosts": "localhost", "connection": "local",
                "gather_facts": False,
                "vars": {"ansible_python_interpreter": sys.executable},
                "module_defaults": {"group/opsbox.veeam_em.veeam_em": connection},
                "tasks": [{"name": "Check every replicated VM", "ansible.builtin.include_role": {
                    "name": "opsbox.veeam_em.replica_compliance"}, "vars": {
                        "replica_compliance_now": self.role_now(), "replica_compliance_report_dir": report_dir,
                        "replica_compliance_fail_on_violation": False}}],
            }]
            with open(playbook, "w") as handle:
                json.dump(play, handle)
            run = run_process([os.path.join(self.bindir, "ansible-playbook"), "-i", "localhost,", playbook] + verbose,
                              env, timeout)
            answer = None
            report = os.path.join(report_dir, "replica_compliance.json")
            if os.path.exists(report):
                with open(report) as handle:
                    answer = json.load(handle)
        return Outcome(entry, run, answer, case, output, requests_since(self.log_path, offset))

    def run_inventory_source(self, source, label="inventory", verbosity=0):
        """``ansible-inventory --list`` on an existing source file (a second run over the same cache)."""
        case = self.case_dir(label)
        output = os.path.join(case, "output")
        env = dict(self.env, ANSIBLE_LOG_PATH=os.path.join(output, "ansible.log"), ANSIBLE_INVENTORY_UNPARSED_FAILED="true",
                   ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true")
        result = os.path.join(output, "inventory.json")
        offset = log_offset(self.log_path)
        run = run_process([os.path.join(self.bindir, "ansible-inventory"), "-i", source, "--list", "--output", result]
                          + (["-" + "v" * verbosity] if verbosity else []), env)
        answer = None
        if run.returncode == 0 and os.path.exists(result):
            with open(result) as handle:
                answer = json.load(handle)
        return Outcome("inventory", run, answer, case, output, requests_since(self.log_path, offset))

    # -- checking ------------------------------------------------------------------------------------------
    def truth_problems(self, outcome):
        """Why a run that should have succeeded did not reproduce the truth (empty: it did)."""
        if outcome.run.timed_out:
            return ["hung: killed after %.0f s" % outcome.run.wall]
        if outcome.run.returncode != 0:
            return ["exit code %d:\n%s" % (outcome.run.returncode, outcome.run.tail())]
        truth = self.truth(outcome.entry)
        if outcome.entry.startswith("module:"):
            return module_answer_problems(outcome.answer, outcome.entry.split(":", 1)[1], truth)
        if outcome.answer is None:
            return ["no answer was written"]
        answer = inventory_answer(outcome.answer) if outcome.entry == "inventory" else report_answer(outcome.answer)
        problems = []
        for source in ("replica", "cdp"):
            if answer[source] != truth[source]:
                wrong = sorted(key for key in set(answer[source]) | set(truth[source])
                               if answer[source].get(key) != truth[source].get(key))
                problems.append("%s differs from the truth for %d VMs (%s)" % (source, len(wrong), wrong[:3]))
        return problems

    def failure_problems(self, outcome, message, deadline):
        """Why a run that should have failed did not fail properly (empty: it failed as documented)."""
        run = outcome.run
        if run.timed_out:
            return ["hung: killed after %.0f s" % run.wall]
        problems = []
        if run.returncode == 0:
            problems.append("the run succeeded although the fault persisted")
        if run.wall > deadline:
            problems.append("took %.1f s, more than the %.0f s allowed" % (run.wall, deadline))
        # Ansible wraps warnings at 80 columns: compare with every run of white space as one space.
        if not re.search(message, re.sub(r"\s+", " ", run.stdout + run.stderr)):
            problems.append("the documented message %r is not in the output:\n%s" % (message, run.tail()))
        if outcome.entry.startswith("module:"):
            key = MODULES[outcome.entry.split(":", 1)[1]][0]
            if outcome.answer is None or not outcome.answer.get("failed"):
                problems.append("the module result is not marked failed")
            elif outcome.answer.get(key):
                problems.append("a failed module returned %d records as if they were the answer" % len(outcome.answer[key]))
        elif outcome.answer is not None:
            problems.append("an answer was written although the run failed")
        return problems

    def secret_problems(self, outcome):
        """Secrets found in anything the run printed or wrote."""
        secrets = dict(self.secrets)
        for session_id in session_ids_in(outcome.requests):
            secrets["token of session %s" % session_id] = token_of(session_id)
        return scan_outputs({"stdout": outcome.run.stdout, "stderr": outcome.run.stderr}, [outcome.output_dir], secrets)


def baseline_requests(harness, entry):
    """The requests a fault-free run of ``entry`` makes with the standard case options (checked against the truth)."""
    cache = harness.__dict__.setdefault("_baselines", {})
    if entry not in cache:
        harness.reset()
        outcome = harness.run(entry, harness.connection(), label="baseline")
        problems = harness.truth_problems(outcome) + harness.secret_problems(outcome)
        assert not problems, "the fault-free run of %s is already wrong: %s" % (entry, problems)
        assert harness.open_sessions() == 0
        cache[entry] = outcome.requests
        harness.reset()
    return cache[entry]
