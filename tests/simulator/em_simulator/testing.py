"""Start the real ``serve`` command in a subprocess for test fixtures, and talk to its admin endpoint.

    from em_simulator.testing import start_simulator
    sim = start_simulator(dataset="tiny", tls=True, now="2026-11-20T12:00:00Z")
    try:
        ...  # sim.url, sim.ca_path, sim.username, sim.password
    finally:
        sim.stop()
"""

import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import warnings

SIM_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def build_argv(options):
    """Translate keyword options into ``serve`` arguments: True -> --flag, False -> --no-flag, list -> repeated option."""
    argv = []
    for key, value in options.items():
        if value is None:
            continue
        flag = "--" + key.replace("_", "-")
        if value is True:
            argv.append(flag)
        elif value is False:
            argv.append("--no-" + key.replace("_", "-"))
        elif isinstance(value, (list, tuple)):
            for item in value:
                argv.extend([flag, str(item)])
        elif isinstance(value, dict):
            argv.extend([flag, json.dumps(value)])
        else:
            argv.extend([flag, str(value)])
    return argv


class SimulatorProcess(object):
    """Handle on a running simulator subprocess."""

    def __init__(self, proc, info):
        self.proc = proc
        self.info = info
        self.url = info["url"]
        self.admin_url = info["admin_url"]
        self.ca_path = info.get("ca_path")
        self.username = info["username"]
        self.password = info["password"]
        self.now = info["now"]
        self._ctx = None
        if self.ca_path:
            self._ctx = ssl.create_default_context(cafile=self.ca_path)
            if info.get("tls_cert", "valid") != "valid" or info.get("tls_max_version") in ("1.0", "1.1"):
                # A deliberately broken certificate or protocol (--tls-cert, --tls-max-version) is what the
                # client under test must refuse; the admin calls of the test itself still have to get through.
                self._ctx.check_hostname = False
                self._ctx.verify_mode = ssl.CERT_NONE
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", DeprecationWarning)  # TLS 1.0 is deprecated: that is the point
                    self._ctx.minimum_version = ssl.TLSVersion.TLSv1
                self._ctx.set_ciphers("DEFAULT:@SECLEVEL=0")

    # -- admin calls -------------------------------------------------------------------------------------------
    def admin(self, method, path, body=None, params=None):
        """Call an admin endpoint and return the decoded JSON (raises urllib.error.HTTPError on 4xx/5xx)."""
        url = self.admin_url + path
        if params:
            url += "?" + urllib.parse.urlencode(params)
        data = json.dumps(body).encode("utf-8") if body is not None else None
        req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=120, context=self._ctx) as resp:
            return json.loads(resp.read().decode("utf-8"))

    def stats(self):
        return self.admin("GET", "/stats")

    def reset_stats(self):
        return self.admin("POST", "/stats/reset")

    def set_faults(self, faults=None, **kwargs):
        """Replace the fault configuration (keys as in README, e.g. fail_next={"count": 2, "status": 503})."""
        body = dict(faults or {})
        body.update(kwargs)
        return self.admin("POST", "/faults", body)

    def clear_faults(self):
        return self.admin("DELETE", "/faults")

    def configure(self, **switches):
        return self.admin("POST", "/config", switches)

    def expire_sessions(self):
        return self.admin("POST", "/sessions/expire")

    def truth(self, what="query", **params):
        """Ground truth: truth("query", type=..., filter=..., sortDesc=...), truth("latest_tasks", kind=...), truth("counts")."""
        return self.admin("GET", "/truth/" + what, params=params or None)

    # -- lifecycle ---------------------------------------------------------------------------------------------
    def stop(self, timeout=10):
        """SIGTERM the server and wait; returns its exit code (None for a server this process did not start)."""
        if self.proc is None:
            terminate_pid(self.info["pid"], timeout)
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout)
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_simulator(python=None, timeout=300, stderr=None, **options):
    """Run ``python -m em_simulator serve`` with ``options`` and return a SimulatorProcess once the ready line arrived."""
    argv = [python or sys.executable, "-m", "em_simulator", "serve"] + build_argv(options)
    env = dict(os.environ)
    env["PYTHONPATH"] = SIM_ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr, env=env)  # pylint: disable=consider-using-with
    box = {}

    def read_line():
        box["line"] = proc.stdout.readline()

    reader = threading.Thread(target=read_line, daemon=True)
    reader.start()
    reader.join(timeout)
    line = box.get("line")
    if not line:
        proc.kill()
        proc.wait()
        raise RuntimeError("simulator did not become ready (exit code %s, argv %s)" % (proc.returncode, argv))
    return SimulatorProcess(proc, json.loads(line.decode("utf-8")))


def pid_alive(pid):
    """Whether a process with this pid exists."""
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def terminate_pid(pid, timeout=10):
    """SIGTERM a simulator this process did not start, and wait for it to go."""
    if not pid_alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while pid_alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    if pid_alive(pid):
        os.kill(pid, signal.SIGKILL)


class SharedSimulators(object):
    """Simulators shared by the tests of one pytest process, also under pytest-forked.

    ansible-test runs every unit test in a forked child (pytest-forked). A session-scoped fixture
    is then set up again in each child and never torn down, so a plain session fixture leaves one
    server behind per test (hundreds per run). This registry keeps the ready line of each started
    simulator in a folder named after the process that created the registry -- the pytest worker,
    which outlives the forks: a child reuses a live simulator, and the worker stops them all from
    ``pytest_sessionfinish``. Under plain pytest it behaves like a session fixture.
    """

    def __init__(self, label):
        self.owner = os.getpid()
        self.directory = os.path.join(tempfile.gettempdir(), "em-simulators-%s-%d" % (label, self.owner))

    def get(self, key, **options):
        """The simulator registered as ``key``, started with ``options`` if there is no live one."""
        os.makedirs(self.directory, exist_ok=True)
        path = os.path.join(self.directory, key + ".json")
        if os.path.exists(path):
            with open(path) as handle:
                info = json.load(handle)
            if pid_alive(info["pid"]):
                return SimulatorProcess(None, info)
        process = start_simulator(**options)
        info = dict(process.info, pid=process.proc.pid)
        with open(path + ".tmp", "w") as handle:
            json.dump(info, handle)
        os.rename(path + ".tmp", path)
        return process

    def stop_all(self):
        """Stop every simulator of the registry; does nothing outside the process that created it."""
        if os.getpid() != self.owner or not os.path.isdir(self.directory):
            return
        for name in os.listdir(self.directory):
            if name.endswith(".json"):
                with open(os.path.join(self.directory, name)) as handle:
                    terminate_pid(json.load(handle)["pid"])
        shutil.rmtree(self.directory, ignore_errors=True)
