"""Fixtures for the simulator tests; puts tests/simulator on sys.path so the suite runs from any directory."""

import base64
import os
import sys

import pytest

SIM_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if SIM_ROOT not in sys.path:
    sys.path.insert(0, SIM_ROOT)

from em_simulator import testing  # noqa: E402  pylint: disable=wrong-import-position

FIXED_NOW = "2026-11-20T12:00:00Z"
EXTRA_USERS = ["restore@corp.example:R3st0re!:RestoreOperator",
               "CORP\\j\u00fcrgen:p&%+=\"' \u00e4\u00f6\u00fc\u20ac:PortalAdministrator"]


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: long-running checks (fleet data set); opt in with -m slow")


def pytest_collection_modifyitems(config, items):
    """Slow tests are opt-in: they run only when the -m expression names them."""
    if "slow" in (config.getoption("markexpr") or ""):
        return
    skip = pytest.mark.skip(reason="slow test: run with -m slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", name="sim_dirs")
def fixture_sim_dirs(tmp_path_factory):
    base = tmp_path_factory.mktemp("emsim")
    return {"cache_dir": str(base / "cache"), "state_dir": str(base / "state")}


@pytest.fixture(scope="session", name="sim")
def fixture_sim(sim_dirs):
    """One tiny-data-set simulator (plain HTTP, fixed clock) shared by the HTTP tests; faults cleared per test."""
    proc = testing.start_simulator(dataset="tiny", now=FIXED_NOW, user=EXTRA_USERS, session_timeout=900, **sim_dirs)
    yield proc
    proc.stop()


@pytest.fixture(name="clean")
def fixture_clean(sim):
    """Reset faults, run-time config and counters before and after a test."""
    defaults = {"dialect": "v12", "bom": False, "typo_links": True, "cdp_task_href_quirk": False, "default_page_size": 100,
                "max_page_size": 0, "session_timeout": 900}
    sim.clear_faults()
    sim.configure(**defaults)
    sim.expire_sessions()
    sim.reset_stats()
    yield sim
    sim.clear_faults()
    sim.configure(**defaults)


class Client(object):
    """Minimal EM client for tests (requests, connection pooling, token header)."""

    def __init__(self, sim, username=None, password=None, accept=None):
        import requests
        self.sim = sim
        self.http = requests.Session()
        self.http.trust_env = False
        if sim.ca_path:
            self.http.verify = sim.ca_path
        self.username = sim.username if username is None else username
        self.password = sim.password if password is None else password
        self.accept = accept
        self.token = None
        self.session_id = None

    def headers(self, extra=None):
        out = {}
        if self.accept:
            out["Accept"] = self.accept
        if self.token:
            out["X-RestSvcSessionId"] = self.token
        out.update(extra or {})
        return out

    def logon(self, version="latest"):
        url = self.sim.url + "/api/sessionMngr/" + ("?v=%s" % version if version else "")
        raw = ("%s:%s" % (self.username, self.password)).encode("utf-8")
        resp = self.http.post(url, headers=self.headers({"Authorization": "Basic " + base64.b64encode(raw).decode("ascii")}))
        self.http.cookies.clear()
        if resp.status_code == 201:
            self.token = resp.headers["X-RestSvcSessionId"]
            self.session_id = base64.b64decode(self.token).decode("ascii")
        return resp

    def get(self, path, params=None, headers=None, **kwargs):
        url = path if path.startswith("http") else self.sim.url + path
        return self.http.get(url, params=params, headers=self.headers(headers), **kwargs)

    def request(self, method, path, headers=None, **kwargs):
        url = path if path.startswith("http") else self.sim.url + path
        return self.http.request(method, url, headers=self.headers(headers), **kwargs)


@pytest.fixture(name="client")
def fixture_client(clean):
    cli = Client(clean)
    assert cli.logon().status_code == 201
    return cli
