"""Opt-in performance checks on the ``fleet`` data set (about 1.1M task sessions).  Run with ``-m slow``.

The cache directory defaults to a fresh temporary directory (so generation is measured); set EMSIM_PERF_CACHE to reuse one.
Measured numbers are written to stderr (use ``-s`` to see them).
"""

import os
import statistics
import subprocess
import sys
import time

import pytest

from conftest import SIM_ROOT, Client
from em_simulator import model, testing

pytestmark = pytest.mark.slow
NOW = "2026-11-20T12:00:00Z"


@pytest.fixture(scope="module", name="fleet_cache")
def fixture_fleet_cache(tmp_path_factory):
    return os.environ.get("EMSIM_PERF_CACHE") or str(tmp_path_factory.mktemp("fleet"))


def _report(name, value):
    sys.stderr.write("PERF %s: %s\n" % (name, value))


def test_fleet_generation_and_cache_load(fleet_cache):
    env = dict(os.environ, PYTHONPATH=SIM_ROOT)
    argv = [sys.executable, "-m", "em_simulator", "build", "--dataset", "fleet", "--cache-dir", fleet_cache]
    started = time.monotonic()
    out = subprocess.run(argv, stdout=subprocess.PIPE, env=env, check=True, timeout=600)
    first = time.monotonic() - started
    _report("fleet build (built=%s)" % (b'"built": true' in out.stdout), "%.1f s" % first)
    if b'"built": true' in out.stdout:
        assert first <= 90
    proc = testing.start_simulator(dataset="fleet", now=NOW, cache_dir=fleet_cache, state_dir=fleet_cache)
    try:
        _report("fleet load from cache (server side)", "%.3f s" % proc.info["load_seconds"])
        assert not proc.info["dataset_built"] and proc.info["load_seconds"] <= 5
    finally:
        proc.stop()


@pytest.mark.parametrize("accept", ["application/xml", "application/json"])
def test_filtered_sorted_page_of_1000(fleet_cache, accept):
    proc = testing.start_simulator(dataset="fleet", now=NOW, cache_dir=fleet_cache, state_dir=fleet_cache)
    try:
        cli = Client(proc, accept=accept)
        assert cli.logon().status_code == 201
        since = model.fmt_time(model.parse_time(NOW) - 7 * model.DAY_MS)
        queries = [
            {"type": "ReplicaTaskSession", "format": "Entities", "filter": 'CreationTime>="%s";Result!=Success' % since,
             "sortDesc": "CreationTime", "pageSize": 1000},
            {"type": "ReplicaTaskSession", "format": "Entities", "filter": 'CreationTime>="%s"' % since, "sortDesc": "CreationTime",
             "pageSize": 1000, "page": 3},
            {"type": "BackupTaskSession", "format": "Entities", "filter": 'JobName=="Daily Backup 1";Result==Success',
             "sortAsc": "CreationTime", "pageSize": 1000},
        ]
        for params in queries:
            timings = []
            for _attempt in range(7):
                started = time.monotonic()
                resp = cli.get("/api/query", params)
                timings.append(time.monotonic() - started)
                assert resp.status_code == 200 and len(resp.content) > 100000
            median = statistics.median(timings)
            _report("page of 1000 %s %s %s" % (accept, params["type"], params["filter"]), "median %.1f ms, max %.1f ms"
                    % (median * 1000, max(timings) * 1000))
            assert median <= 0.100
    finally:
        proc.stop()
