"""The command line and process behaviour, TLS, impersonation, and the generated data (determinism, model rules)."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import requests

from conftest import FIXED_NOW, SIM_ROOT, Client
from em_simulator import dataset, model, store, testing

SMALL = {"backup_servers": 2, "replica_jobs": 4, "backup_jobs": 2, "vms": 30, "days": 4, "replica_runs_per_day": 3,
         "backup_runs_per_day": 1, "cdp_vms": 5, "seed": 99, "special_names": True, "name": "tiny"}


def _dump(path):
    import sqlite3
    conn = sqlite3.connect(path)
    try:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name != 'meta' AND name NOT LIKE 'sqlite_%' ORDER BY name")]
        return dict((t, conn.execute("SELECT * FROM %s ORDER BY id" % t).fetchall()) for t in tables)
    finally:
        conn.close()


def test_determinism(tmp_path):
    a, b = str(tmp_path / "a.sqlite"), str(tmp_path / "b.sqlite")
    dataset.build(a, SMALL)
    dataset.build(b, SMALL)
    assert _dump(a) == _dump(b)
    sa, sb = store.Store(a, 0), store.Store(b, 0)
    assert sa.digest() == sb.digest()
    c = str(tmp_path / "c.sqlite")
    dataset.build(c, dict(SMALL, seed=100))
    assert store.Store(c, 0).digest() != sa.digest()


def test_tiny_digest_is_pinned(tmp_path):
    """Same seed and parameters give the same data on every machine and Python version.

    Update this value together with dataset.GENERATOR_VERSION whenever the generator changes on purpose.
    """
    path, _built = dataset.ensure_dataset(str(tmp_path), dataset.resolve_params("tiny"))
    assert dataset.GENERATOR_VERSION == 6
    assert store.Store(path, 0).digest() == "ff9a440913632195b626a33344db742a551f18fcaab2b60bf09438542d1d7624"


def test_cache_key_depends_on_params(tmp_path):
    p1 = dataset.resolve_params("tiny")
    p2 = dataset.resolve_params("tiny", vms=21)
    assert dataset.cache_path(str(tmp_path), p1) != dataset.cache_path(str(tmp_path), p2)
    path, built = dataset.ensure_dataset(str(tmp_path), p1)
    assert built and os.path.exists(path)
    assert dataset.ensure_dataset(str(tmp_path), p1) == (path, False)
    assert not [n for n in os.listdir(str(tmp_path)) if ".tmp-" in n]


def test_concurrent_builds_do_not_corrupt_cache(tmp_path):
    env = dict(os.environ, PYTHONPATH=SIM_ROOT)
    argv = [sys.executable, "-m", "em_simulator", "build", "--dataset", "demo", "--cache-dir", str(tmp_path), "--seed", "5"]
    procs = [subprocess.Popen(argv, stdout=subprocess.PIPE, env=env) for _attempt in range(3)]  # pylint: disable=consider-using-with
    outs = [json.loads(p.communicate(timeout=120)[0]) for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert len({o["path"] for o in outs}) == 1 and sum(1 for o in outs if o["built"]) == 1
    st = store.Store(outs[0]["path"], 0)
    assert st.counts["ReplicaTaskSession"] > 0


def test_ready_line_and_sigterm(sim_dirs):
    proc = testing.start_simulator(dataset="tiny", now=FIXED_NOW, tls=False, bom=False, verbose=False, **sim_dirs)
    info = proc.info
    assert set(info) >= {"url", "admin_url", "username", "password", "dataset", "now"}
    assert info["url"].startswith("http://127.0.0.1:") and info["admin_url"] == info["url"] + "/admin"
    assert info["dataset"] == "tiny" and info["now"] == FIXED_NOW and "ca_path" not in info
    cli = Client(proc)
    assert cli.logon().status_code == 201
    assert cli.get("/api/backupServers").status_code == 200  # keep-alive connection stays open
    assert proc.stop() == 0


@pytest.mark.parametrize("args", [["--days", "0"], ["--now", "yesterday"], ["--user", "no-role"], ["--dataset", "huge"]])
def test_bad_arguments_fail_fast(args):
    env = dict(os.environ, PYTHONPATH=SIM_ROOT)
    proc = subprocess.run([sys.executable, "-m", "em_simulator", "serve"] + args, env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, timeout=60, check=False)
    assert proc.returncode != 0 and proc.stdout == b"" and proc.stderr


def test_sigint_stops_cleanly(sim_dirs):
    proc = testing.start_simulator(dataset="tiny", now=FIXED_NOW, **sim_dirs)
    proc.proc.send_signal(signal.SIGINT)
    assert proc.proc.wait(10) == 0
    proc.stop()


def test_tls_and_ca_reuse(sim_dirs, tmp_path):
    state = str(tmp_path / "state")
    proc = testing.start_simulator(dataset="tiny", now=FIXED_NOW, tls=True, cache_dir=sim_dirs["cache_dir"], state_dir=state)
    try:
        assert proc.url.startswith("https://") and os.path.isabs(proc.ca_path)
        with open(proc.ca_path, "rb") as handle:
            ca_bytes = handle.read()
        http = requests.Session()
        http.trust_env = False
        resp = http.get(proc.url + "/api/", verify=proc.ca_path)
        assert resp.status_code == 200 and resp.headers["Server"] == "Microsoft-HTTPAPI/2.0"
        with pytest.raises(requests.exceptions.SSLError):
            requests.Session().get(proc.url + "/api/", verify=True)
        localhost = proc.url.replace("127.0.0.1", "localhost")
        assert http.get(localhost + "/api/", verify=proc.ca_path).status_code == 200
        assert proc.stats()["requests"]["GET /api/"]["200"] == 2
    finally:
        assert proc.stop() == 0
    again = testing.start_simulator(dataset="tiny", now=FIXED_NOW, tls=True, cache_dir=sim_dirs["cache_dir"], state_dir=state)
    try:
        with open(again.ca_path, "rb") as handle:
            assert handle.read() == ca_bytes
    finally:
        again.stop()


def test_impersonate_vbr(sim_dirs):
    proc = testing.start_simulator(dataset="tiny", now=FIXED_NOW, impersonate="vbr", **sim_dirs)
    try:
        http = requests.Session()
        resp = http.get(proc.url + "/api/")
        assert resp.status_code == 404 and resp.headers["Content-Type"].startswith("application/json")
        resp = http.get(proc.url + "/api/v1/jobs")
        assert resp.status_code == 401 and resp.headers["WWW-Authenticate"] == "Bearer" and "errorCode" in resp.json()
        resp = http.post(proc.url + "/api/oauth2/token", data={"grant_type": "password", "username": "a", "password": "b"})
        assert resp.status_code == 400 and resp.json()["error"] == "invalid_grant"
        assert http.post(proc.url + "/api/sessionMngr/?v=latest", auth=("a", "b")).status_code == 404
        assert http.get(proc.admin_url + "/stats").status_code == 200
    finally:
        proc.stop()


def test_impersonate_html(sim_dirs):
    proc = testing.start_simulator(dataset="tiny", now=FIXED_NOW, impersonate="html", **sim_dirs)
    try:
        for path in ("/api/", "/api/sessionMngr/?v=latest", "/whatever"):
            resp = requests.get(proc.url + path)
            assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/html") and b"<html" in resp.content
    finally:
        proc.stop()


# -- data model rules -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module", name="demo")
def fixture_demo(tmp_path_factory):
    path, _built = dataset.ensure_dataset(str(tmp_path_factory.mktemp("demo")), dataset.resolve_params("demo"))
    return store.Store(path, model.parse_time(FIXED_NOW))


def _all(st, tname):
    return list(st.iter_records(model.get_type(tname)))


def test_retries_hold_only_previously_failed_vms(demo):
    sessions = _all(demo, "ReplicaJobSession") + _all(demo, "BackupJobSession")
    tasks = {}
    for tname in ("ReplicaTaskSession", "BackupTaskSession"):
        for t in _all(demo, tname):
            tasks.setdefault(t["JobSessionUid"], []).append(t)
    retries = [s for s in sessions if s["IsRetry"]]
    assert retries
    by_job = {}
    for s in sorted(sessions, key=lambda s: s["_ms_CreationTimeUTC"]):
        by_job.setdefault(s["JobUid"], []).append(s)
    for retry in retries:
        runs = by_job[retry["JobUid"]]
        previous = runs[runs.index(retry) - 1]
        assert not previous["IsRetry"] and previous["Result"] == "Failed"
        failed = {t["VmDisplayName"] for t in tasks[previous["UID"]] if t["Result"] == "Failed"}
        assert {t["VmDisplayName"] for t in tasks.get(retry["UID"], [])} <= failed
        assert 0 < retry["_ms_CreationTimeUTC"] - previous["_ms_EndTimeUTC"] <= 15 * 60 * 1000


def test_running_sessions_and_names(demo):
    now = model.parse_time(FIXED_NOW)
    sessions = _all(demo, "ReplicaJobSession")
    running = [s for s in sessions if s["EndTimeUTC"] is None]
    assert running and all(s["State"] == "Working" and s["Result"] == "None" for s in running)
    assert all(s["_ms_CreationTimeUTC"] < now for s in sessions)
    assert all(s["_ms_EndTimeUTC"] < now for s in sessions if s["_ms_EndTimeUTC"] is not None)
    sample = sessions[0]
    assert sample["Name"] == "%s@%s" % (sample["JobName"], model.fmt_name_time(sample["_ms_CreationTimeUTC"]))
    tasks = _all(demo, "ReplicaTaskSession")
    assert any(t["State"] == "InProgress" and t["EndTimeUTC"] is None and t["Result"] == "None" for t in tasks)
    assert {"Success", "Warning", "Failed"} <= {t["Result"] for t in tasks}
    assert all(t["Reason"] for t in tasks if t["Result"] in ("Warning", "Failed"))
    stopped_runs = [s for s in sessions if s["FailureMessage"]]
    assert stopped_runs and all(s["Result"] == "Failed" for s in stopped_runs)
    per_session = {}
    for t in tasks:
        per_session.setdefault(t["JobSessionUid"], set()).add(t["VmDisplayName"])
    for run in stopped_runs:
        siblings = [s for s in sessions if s["JobUid"] == run["JobUid"] and not s["IsRetry"] and s["State"] == "Stopped"
                    and not s["FailureMessage"]]
        assert len(per_session[run["UID"]]) < max(len(per_session[s["UID"]]) for s in siblings)


def test_vms_removed_from_a_job_part_way(demo):
    sessions = dict((s["UID"], s) for s in _all(demo, "ReplicaJobSession"))
    last_run = {}
    for s in sessions.values():
        last_run[s["JobUid"]] = max(last_run.get(s["JobUid"], 0), s["_ms_CreationTimeUTC"])
    last_task = {}
    for t in _all(demo, "ReplicaTaskSession"):
        key = (t["JobUid"], t["BackupServerName"], t["VmDisplayName"])
        last_task[key] = max(last_task.get(key, 0), t["_ms_CreationTimeUTC"])
    removed = [k for k, v in last_task.items() if v < last_run[k[0]] - model.DAY_MS]
    assert removed


def test_special_and_duplicate_names(demo):
    tasks = _all(demo, "ReplicaTaskSession")
    names = {t["VmDisplayName"] for t in tasks}
    for special in dataset.SPECIAL_VM_NAMES:
        assert special in names, special
    jobs = {j["Name"] for j in _all(demo, "Job")}
    assert set(dataset.SPECIAL_JOB_NAMES) <= jobs
    per_name = {}
    for t in tasks:
        per_name.setdefault(t["VmDisplayName"], set()).add(t["BackupServerName"])
    assert any(len(servers) == 2 for servers in per_name.values())
    vm_jobs = {}
    for t in tasks:
        vm_jobs.setdefault((t["BackupServerName"], t["VmDisplayName"]), set()).add(t["JobName"])
    assert any(len(j) == 2 for j in vm_jobs.values())


def test_backup_task_vm_uid(demo):
    task = _all(demo, "BackupTaskSession")[0]
    assert task["VmUid"].startswith("urn:VMware:Vm:") and ".vm-" in task["VmUid"]


def test_cdp_cadence(demo):
    sessions = sorted(_all(demo, "CdpReplicaSession"), key=lambda s: (s["PolicyName"], s["_ms_CreationTimeUTC"]))
    for a, b in zip(sessions, sessions[1:]):
        if a["PolicyName"] == b["PolicyName"]:
            assert abs(b["_ms_CreationTimeUTC"] - a["_ms_CreationTimeUTC"] - model.DAY_MS) < 1000
    assert sessions[-1]["EndTimeUTC"] is None
    tasks = [t for t in _all(demo, "CdpReplicaTaskSession") if t["_ms_EndTimeUTC"]]
    durations = [t["_ms_EndTimeUTC"] - t["_ms_CreationTimeUTC"] for t in tasks]
    assert all(abs(d - 8 * 3600 * 1000) <= 60000 for d in durations)


def test_latest_tasks_truth(sim):
    latest = sim.truth("latest_tasks", kind="replica")
    allt = sim.truth("query", type="ReplicaTaskSession")
    newest = {}
    for t in allt:
        key = (t["BackupServerName"], t["VmDisplayName"])
        if key not in newest or t["CreationTimeUTC"] >= newest[key]["CreationTimeUTC"]:
            newest[key] = t
    assert {(t["BackupServerName"], t["VmDisplayName"]): t["UID"] for t in latest} == {k: v["UID"] for k, v in newest.items()}
    windowed = sim.truth("latest_tasks", kind="cdp", since="2026-11-19T00:00:00Z", until="2026-11-20T00:00:00Z")
    assert windowed and all("2026-11-19" <= t["CreationTimeUTC"] < "2026-11-20" for t in windowed)
    counts = sim.truth("counts")
    assert counts["ReplicaTaskSession"] == len(allt) and counts["BackupServer"] == 2


def test_data_clock_shift(sim_dirs):
    later = testing.start_simulator(dataset="tiny", now="2027-01-01T00:00:00Z", **sim_dirs)
    try:
        first = later.truth("query", type="ReplicaJobSession", sortDesc="CreationTime")[0]
        assert first["CreationTimeUTC"] < "2027-01-01T00:00:00Z" and first["CreationTimeUTC"] > "2026-12-31T"
    finally:
        later.stop()
    started = time.time()
    real = testing.start_simulator(dataset="tiny", **sim_dirs)
    try:
        assert abs(model.parse_time(real.now) / 1000.0 - started) < 30
    finally:
        real.stop()
