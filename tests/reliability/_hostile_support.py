# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Shared helpers of the hostile-input, TLS and templating suites (plain pytest, no conftest).

* :func:`collection_tree` copies the checkout into ``<tmp>/ansible_collections/opsbox/veeam_em``
  (as benchmarks/run.py does) so that the client can be imported and ansible can load the
  collection through ``ANSIBLE_COLLECTIONS_PATH``;
* :func:`start` runs a simulator with the line venv's interpreter (stop it yourself);
* :func:`run_script` runs a Python snippet in a child process and returns its JSON answer,
  wall time and peak RSS, so that memory is measured away from pytest's own;
* :func:`run_playbook` / :func:`run_inventory` run ansible-playbook / ansible-inventory.
"""

import atexit
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SIM_ROOT = os.path.join(ROOT, "tests", "simulator")
if SIM_ROOT not in sys.path:
    sys.path.insert(0, SIM_ROOT)

from em_simulator.testing import start_simulator  # noqa: E402  pylint: disable=wrong-import-position

PYTHON = sys.executable
BIN = os.path.dirname(PYTHON)
FIXED_NOW = "2026-11-20T12:00:00Z"
# A password and a token-like marker that must never show up in any output.
PASSWORD = "Hostile-Passw0rd-7f3a"
_STATE = {}


def workdir():
    """One temporary directory per test process, removed at exit."""
    if "workdir" not in _STATE:
        _STATE["workdir"] = tempfile.mkdtemp(prefix="em-hostile-")
        atexit.register(shutil.rmtree, _STATE["workdir"], True)
    return _STATE["workdir"]


def collection_tree():
    """``<tmp>`` holding ``ansible_collections/opsbox/veeam_em``, a copy of the checkout (made once)."""
    if "tree" not in _STATE:
        root = os.path.join(workdir(), "collections")
        target = os.path.join(root, "ansible_collections", "opsbox", "veeam_em")
        ignored = shutil.ignore_patterns(".git", ".cache", "output", "__pycache__", "demo-report")
        shutil.copytree(ROOT, target, ignore=ignored)
        _STATE["tree"] = root
        if root not in sys.path:
            sys.path.insert(0, root)
    return _STATE["tree"]


def ansible_env(**extra):
    """Environment for ansible commands and child scripts of this suite."""
    env = dict(os.environ)
    for key in list(env):
        if key.startswith("VEEAM_EM_") or key.startswith("ANSIBLE_"):
            del env[key]
    env.update({
        "ANSIBLE_COLLECTIONS_PATH": collection_tree(),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "false",
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_LOCALHOST_WARNING": "false",
        "ANSIBLE_INVENTORY_UNPARSED_WARNING": "false",
        "ANSIBLE_PYTHON_INTERPRETER": PYTHON,
        "ANSIBLE_RETRY_FILES_ENABLED": "false",
        "ANSIBLE_LOCAL_TEMP": os.path.join(workdir(), "ansible-tmp"),
        "ANSIBLE_HOME": os.path.join(workdir(), "ansible-home"),
        "PATH": BIN + os.pathsep + env.get("PATH", ""),
        "PYTHONPATH": collection_tree() + os.pathsep + SIM_ROOT,
    })
    env.update(dict((key, str(value)) for key, value in extra.items()))
    return env


def start(**options):
    """A simulator on the tiny data set with a fixed clock (``tls``, ``canary``, ... as keyword options)."""
    base = workdir()
    settings = {"dataset": "tiny", "now": FIXED_NOW, "password": PASSWORD,
                "state_dir": os.path.join(base, "sim-state"), "cache_dir": os.path.join(base, "sim-cache")}
    settings.update(options)
    return start_simulator(python=PYTHON, **settings)


def run(command, env=None, timeout=300, stdin=None):
    """Run a command; returns ``{"rc", "stdout", "stderr", "seconds", "maxrss_mb"}`` (peak RSS of the child tree)."""
    out_path = os.path.join(workdir(), "out-%d-%f" % (os.getpid(), time.time()))
    with open(out_path, "wb") as out, open(out_path + ".err", "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env or ansible_env(),  # pylint: disable=consider-using-with
                                stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL, cwd=workdir())
        if stdin is not None:
            proc.stdin.write(stdin.encode("utf-8"))
            proc.stdin.close()
        deadline = started + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                pid, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.02)
        seconds = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    with open(out_path, "rb") as handle:
        stdout = handle.read().decode("utf-8", "replace")
    with open(out_path + ".err", "rb") as handle:
        stderr = handle.read().decode("utf-8", "replace")
    os.unlink(out_path)
    os.unlink(out_path + ".err")
    return {"rc": proc.returncode, "stdout": stdout, "stderr": stderr, "seconds": seconds,
            "maxrss_mb": usage.ru_maxrss / 1024.0}


def run_script(code, payload, env=None, timeout=300):
    """Run ``code`` (reads the JSON ``payload`` from stdin, prints one JSON line last) in a child interpreter."""
    result = run([PYTHON, "-c", textwrap.dedent(code)], env=env, timeout=timeout, stdin=json.dumps(payload))
    lines = [line for line in result["stdout"].splitlines() if line.strip()]
    if result["rc"] != 0 or not lines:
        raise AssertionError("child script failed (rc %s):\n%s\n%s"
                             % (result["rc"], result["stdout"][-3000:], result["stderr"][-3000:]))
    result["answer"] = json.loads(lines[-1])
    return result


def sim_info(sim):
    """What a child script needs to reach a simulator."""
    return {"url": sim.url, "admin_url": sim.admin_url, "ca_path": sim.ca_path, "username": sim.username,
            "password": sim.password, "now": sim.now, "pid": sim.proc.pid if sim.proc else sim.info.get("pid")}


# The child side of the client cases: for each case set the faults, run the client, measure it, clear the faults
# and read open_sessions.  Memory: tracemalloc's peak of Python allocations during the case.
CLIENT_CASES = """
import gc, json, sys, time, tracemalloc
from em_simulator.testing import SimulatorProcess
from ansible_collections.opsbox.veeam_em.plugins.module_utils.client import EMClient
from ansible_collections.opsbox.veeam_em.plugins.module_utils._errors import EMError

payload = json.load(sys.stdin)
info = payload["sim"]
sim = SimulatorProcess(None, dict(info, info=None))
answers = {}
tracemalloc.start()
for case in payload["cases"]:
    sim.clear_faults()
    if case.get("faults"):
        sim.set_faults(case["faults"])
    kwargs = dict(url=info["url"], username=info["username"], password=info["password"], ca_path=info["ca_path"],
                  retries=2, retry_deadline=5)
    kwargs.update(case.get("client", {}))
    gc.collect()
    tracemalloc.reset_peak()
    started = time.monotonic()
    answer = {"error_type": None, "message": None, "records": None}
    try:
        with EMClient(**kwargs) as client:
            if case.get("action") == "get":
                answer["records"] = [client.get_by_id(case["resource"], case["id"])]
            else:
                answer["records"] = list(client.query(case.get("resource", "ReplicaTaskSession"),
                                                      case.get("predicates")))
    except EMError as exc:
        answer["error_type"] = type(exc).__name__
        answer["message"] = str(exc)
    answer["seconds"] = time.monotonic() - started
    answer["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1048576.0
    gc.collect()
    answer["retained_mb"] = tracemalloc.get_traced_memory()[0] / 1048576.0
    sim.clear_faults()
    answer["open_sessions"] = sim.stats()["open_sessions"]
    if answer["records"] is not None:
        answer["uids"] = sorted(record["uid"] for record in answer["records"])
        answer["records"] = len(answer["records"])
    answers[case["name"]] = answer
print(json.dumps(answers))
"""


def run_client_cases(sim, cases):
    """Run client cases in one child process; returns (answers by case name, run info with maxrss_mb)."""
    result = run_script(CLIENT_CASES, {"sim": sim_info(sim), "cases": cases})
    return result["answer"], result


# The inventory plugin through ansible's own InventoryManager, one source per case, in one child process.
INVENTORY_CASES = """
import gc, json, os, sys, time, tracemalloc
from em_simulator.testing import SimulatorProcess
from ansible.parsing.dataloader import DataLoader
from ansible.inventory.manager import InventoryManager
from ansible.plugins.loader import init_plugin_loader
from ansible.utils.display import Display

init_plugin_loader()
warnings_seen = []
# Where ansible puts the plugin's own message differs by version (warnings up to 2.18, error_as_warning and the
# exception's cause chain later): collect all of them.
for _method in ("warning", "error_as_warning", "error"):
    if hasattr(Display, _method):
        setattr(Display, _method, lambda self, msg, *args, **kwargs: warnings_seen.append(
            "%s %s" % (msg, kwargs.get("exception") or (args[0] if args else ""))))


def chain(exc):
    texts = []
    while exc is not None and len(texts) < 10:
        texts.append(str(exc))
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(texts)


payload = json.load(sys.stdin)
info = payload["sim"]
sim = SimulatorProcess(None, dict(info, info=None))
answers = {}
tracemalloc.start()
for case in payload["cases"]:
    sim.clear_faults()
    if case.get("faults"):
        sim.set_faults(case["faults"])
    gc.collect()
    tracemalloc.reset_peak()
    del warnings_seen[:]
    started = time.monotonic()
    answer = {"error": None, "hosts": None}
    try:
        inventory = InventoryManager(loader=DataLoader(), sources=[case["source"]])
        answer["hosts"] = len(inventory.hosts)
        del inventory
    except Exception as exc:  # AnsibleError and friends: what ansible-inventory would print, with its warnings
        answer["error"] = "%s: %s %s" % (type(exc).__name__, chain(exc), " ".join(warnings_seen))
    answer["seconds"] = time.monotonic() - started
    answer["peak_mb"] = tracemalloc.get_traced_memory()[1] / 1048576.0
    gc.collect()
    answer["retained_mb"] = tracemalloc.get_traced_memory()[0] / 1048576.0
    sim.clear_faults()
    answer["open_sessions"] = sim.stats()["open_sessions"]
    answers[case["name"]] = answer
print(json.dumps(answers))
"""


def inventory_source(sim, name, **options):
    """Write an inventory source file for the plugin (credentials in the file: the child has no VEEAM_EM_*)."""
    config = {"plugin": "opsbox.veeam_em.veeam_em", "url": sim.url, "username": sim.username,
              "password": sim.password, "lookback": "30d", "sources": ["replica"], "strict": True}
    if sim.ca_path:
        config["ca_path"] = sim.ca_path
    config.update(options)
    directory = os.path.join(workdir(), "inventories")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "%s.veeam_em.yml" % name)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(config, handle)
    return path


def run_inventory_cases(sim, cases):
    """Run inventory cases (each with ``source`` and ``faults``) in one child; returns (answers, run info)."""
    env = ansible_env(ANSIBLE_INVENTORY_UNPARSED_FAILED="true", ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED="true",
                      ANSIBLE_INVENTORY_ENABLED="opsbox.veeam_em.veeam_em")
    result = run_script(INVENTORY_CASES, {"sim": sim_info(sim), "cases": cases}, env=env)
    return result["answer"], result


# A stdout callback of this suite (ansible-core has no json callback of its own): every task's result of the one
# host and its wall time, as one JSON line at the end.
_CALLBACK = """
import json
import time

from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "stdout"
    CALLBACK_NAME = "hostile_json"

    def __init__(self, *args, **kwargs):
        super(CallbackModule, self).__init__(*args, **kwargs)
        self.tasks = {}
        self.started = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started = time.monotonic()

    def _record(self, result):
        self.tasks[result._task.get_name()] = {"result": result._result, "seconds": time.monotonic() - self.started}

    def v2_runner_on_ok(self, result):
        self._record(result)

    def v2_runner_on_failed(self, result, ignore_errors=False):
        self._record(result)
        self.tasks[result._task.get_name()]["result"]["failed"] = True

    def v2_runner_on_skipped(self, result):
        self._record(result)

    def v2_runner_on_unreachable(self, result):
        self._record(result)

    def v2_playbook_on_stats(self, stats):
        self._display.display("HOSTILE-JSON " + json.dumps({"tasks": self.tasks}, default=str))
"""


def callback_dir():
    directory = os.path.join(workdir(), "callback_plugins")
    if not os.path.isdir(directory):
        os.makedirs(directory)
        with open(os.path.join(directory, "hostile_json.py"), "w", encoding="utf-8") as handle:
            handle.write(_CALLBACK)
    return directory


def run_playbook(playbook, sim=None, extra_vars=None, env_extra=None, inventory="localhost,", timeout=300):
    """Run a playbook (a list of plays); returns run info plus ``tasks``: by task name, ``{"result", "seconds"}``
    of the (one) host."""
    directory = os.path.join(workdir(), "playbooks")
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, "play-%d.yml" % int(time.time() * 1000000))
    with open(path, "w", encoding="utf-8") as handle:
        if isinstance(playbook, str):
            handle.write(playbook)  # YAML text, e.g. to tag values !unsafe
        else:
            json.dump(playbook, handle)
    variables = dict(extra_vars or {})
    if sim is not None:
        variables.update({"em_url": sim.url, "em_username": sim.username, "em_password": sim.password,
                          "em_ca_path": sim.ca_path, "em_admin": sim.admin_url})
    variables_path = path + ".vars.json"
    with open(variables_path, "w", encoding="utf-8") as handle:
        json.dump(variables, handle)
    env = ansible_env(ANSIBLE_STDOUT_CALLBACK="hostile_json", ANSIBLE_CALLBACK_PLUGINS=callback_dir(),
                      **(env_extra or {}))
    result = run([os.path.join(BIN, "ansible-playbook"), "-i", inventory, "-c", "local", path,
                  "-e", "@" + variables_path], env=env, timeout=timeout)
    lines = [line for line in result["stdout"].splitlines() if line.startswith("HOSTILE-JSON ")]
    if not lines:
        raise AssertionError("no result line (rc %s):\n%s\n%s"
                             % (result["rc"], result["stdout"][-3000:], result["stderr"][-3000:]))
    result["tasks"] = json.loads(lines[-1][len("HOSTILE-JSON "):])["tasks"]
    return result


def report(label, node=None, **figures):
    """Print one measurement line (visible with ``pytest -s``) and, given the test's ``node``
    (``request.node``), keep the figures as its properties (what ``record_property`` does) for the matrix."""
    rounded = dict((key, round(value, 3) if isinstance(value, float) else value) for key, value in figures.items())
    text = " ".join("%s=%s" % (key, value) for key, value in sorted(rounded.items()))
    sys.stdout.write("HOSTILE %s %s\n" % (label, text))
    if node is not None:
        node.user_properties.extend(sorted(rounded.items()))
