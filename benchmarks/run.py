# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Benchmark harness of opsbox.veeam_em against the EM simulator (issue 7).

    python3 benchmarks/run.py [--vms 1000] [--repeat 3] [--baseline-repeat 1]   # full run, writes benchmarks/RESULTS.md
    python3 benchmarks/run.py --smoke                                          # CI check of request/record counts

Starts the simulator in its own process (``fleet`` data set, 20 ms per request, 20 us per record
returned), copies the collection into a temporary ``ansible_collections/opsbox/veeam_em`` tree and
runs every scenario as a child process, measured with ``os.wait4`` (CPU time, peak RSS) and the
simulator's ``/admin/stats`` (requests, bytes, records), each answer checked against the truth.
"""

import argparse
import json
import math
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "simulator"))

from em_simulator.testing import start_simulator  # noqa: E402 pylint: disable=import-error,wrong-import-position

DEFAULT_PYTHON = os.path.join(ROOT, ".cache", "venv", "core2.16", "bin", "python")
CONCURRENCY = 4     # the client's default
PAGE_SIZE = 500     # the client's default
S1_LOOKBACK_HOURS = 7 * 24   # the inventory's default lookback
S2_LOOKBACK_HOURS = 24
# Smoke limits on noise-free counts, relative to the floor's counts at the smoke size (300 VMs). S1 limits are
# regression guards at the level measured on 2026-11-22 (10.97x records, 7.3x requests: the fast strategy reads
# the job sessions of the window besides the tasks), not the issue-7 target; S2 must read exactly the answer.
SMOKE_S1_RECORDS_FACTOR = 12.5
SMOKE_S1_REQUESTS_FACTOR = 8.5
SMOKE_S2_RECORDS_FACTOR = 1.0
SMOKE_S2_EXTRA_REQUESTS = 2   # logoff, and one page of slack


def iso(moment):
    """Aware datetime -> ISO 8601 with milliseconds and Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def copy_tree(target_root):
    """Copy the checkout (without .git, .cache, tests/output) to <target_root>/ansible_collections/opsbox/veeam_em."""
    target = os.path.join(target_root, "ansible_collections", "opsbox", "veeam_em")
    shutil.copytree(ROOT, target, ignore=shutil.ignore_patterns(".git", ".cache", "output", "__pycache__"))
    return target


def rusage_run(command, env, stdout_path):
    """Run a child to completion; return (exit code, wall s, CPU s of it and its descendants, peak RSS MB)."""
    with open(stdout_path, "wb") as out, open(stdout_path + ".err", "wb") as err:
        started = time.monotonic()
        proc = subprocess.Popen(command, stdout=out, stderr=err, env=env)  # pylint: disable=consider-using-with
        pid_status = os.wait4(proc.pid, 0)
        wall = time.monotonic() - started
    proc.returncode = os.waitstatus_to_exitcode(pid_status[1])
    usage = pid_status[2]
    return proc.returncode, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024.0


def plain(value):
    """A string of ``ansible-inventory --list`` output, without its ``{"__ansible_unsafe": ...}`` wrapper."""
    if isinstance(value, dict) and "__ansible_unsafe" in value:
        return value["__ansible_unsafe"]
    return value


def adhoc_result(stdout_path):
    """The module result printed by ``ansible`` ad hoc: ``localhost | SUCCESS => {json}``."""
    with open(stdout_path) as handle:
        text = handle.read()
    marker = text.index("SUCCESS => ")
    return json.loads(text[marker + len("SUCCESS => "):])


def process_cpu(pid):
    """User + system CPU seconds a process has used so far (Linux /proc), or None."""
    try:
        with open("/proc/%d/stat" % pid) as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / float(os.sysconf("SC_CLK_TCK"))


def request_count(stats):
    """Total HTTP requests in a /admin/stats answer."""
    return sum(sum(by_status.values()) for by_status in stats["requests"].values())


class Bench(object):
    """One simulator, one collection tree, the scenarios and their measurements."""

    def __init__(self, args, sim, tree_root, workdir):
        self.args = args
        self.sim = sim
        self.tree_root = tree_root
        self.workdir = workdir
        self.python = args.python
        self.bindir = os.path.dirname(args.python)
        self.env = dict(os.environ)
        self.env.update({
            "PYTHONPATH": tree_root,
            "ANSIBLE_COLLECTIONS_PATH": tree_root,
            "ANSIBLE_HOST_KEY_CHECKING": "False",
            "ANSIBLE_LOCAL_TEMP": os.path.join(workdir, "ansible-local"),
            "ANSIBLE_REMOTE_TEMP": os.path.join(workdir, "ansible-remote"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_DEPRECATION_WARNINGS": "False",
            "ANSIBLE_INVENTORY_UNPARSED_FAILED": "True",
            "ANSIBLE_INVENTORY_ANY_UNPARSED_IS_FAILED": "True",
        })
        self.env.pop("REQUESTS_CA_BUNDLE", None)
        self.results = []
        self.failures = []

    # -- truth and floor -------------------------------------------------------------------------------------
    def truth_s1(self, since):
        """Newest task UID per source and (server, VM) in the window, from the simulator's truth."""
        answer = {}
        for source in ("replica", "cdp"):
            rows = self.sim.truth("latest_tasks", kind=source, since=iso(since), until=self.sim.now)
            answer[source] = dict(("%s|%s" % (row["BackupServerName"], row["VmDisplayName"]), row["UID"]) for row in rows)
        return answer

    def truth_s2(self, since):
        """UIDs of the failed and warning replica task sessions created since ``since``."""
        rows = self.sim.truth("query", type="ReplicaTaskSession",
                              filter="(Result==Failed,Result==Warning);CreationTime>=%s" % iso(since))
        return sorted(row["UID"] for row in rows)

    def floor(self, counts):
        """Seconds the server needs to hand over ``counts`` records (one list per source) at our concurrency."""
        records = sum(counts)
        requests = 1 + sum(max(1, int(math.ceil(count / float(PAGE_SIZE)))) for count in counts)
        seconds = requests * self.args.latency_ms / 1000.0 / CONCURRENCY + records * self.args.per_record_us / 1e6
        return {"requests": requests, "records": records, "seconds": seconds}

    # -- one measured run ------------------------------------------------------------------------------------
    def measure(self, name, command, check):
        """Run ``command`` once; ``check(stdout_path)`` returns (answer ok, extra dict)."""
        out = os.path.join(self.workdir, name.replace(" ", "_") + ".out")
        self.sim.reset_stats()
        server_before = process_cpu(self.sim.info["pid"])
        code, wall, cpu, rss = rusage_run(command, self.env, out)
        server_after = process_cpu(self.sim.info["pid"])
        stats = self.sim.stats()
        row = {"wall": wall, "cpu": cpu, "rss_mb": rss, "server_cpu": (server_after or 0.0) - (server_before or 0.0),
               "requests": request_count(stats), "bytes": stats["bytes_sent"],
               "records": stats["records_sent"], "open_sessions": stats["open_sessions"], "rc": code, "ok": False}
        if code != 0:
            with open(out + ".err", "rb") as handle:
                tail = handle.read()[-2000:].decode("utf-8", "replace")
            with open(out, "rb") as handle:
                tail += handle.read()[-2000:].decode("utf-8", "replace")
            self.failures.append("%s: exit code %d: %s" % (name, code, tail))
            return row
        try:
            row["ok"], extra = check(out)
            row.update(extra)
        except (ValueError, KeyError, TypeError, IndexError) as exc:
            self.failures.append("%s: unreadable answer: %s" % (name, exc))
        if not row["ok"]:
            self.failures.append("%s: answer differs from the simulator's truth" % name)
        return row

    def scenario(self, name, runs, command_factory, floor_info, note=""):
        """Run a scenario ``runs`` times; keep every run and the medians."""
        rows = []
        for _index in range(runs):
            command, check = command_factory()
            rows.append(self.measure(name, command, check))
            sys.stderr.write("  %s run %d: %.2f s wall, %d requests, %d records\n" % (
                name, len(rows), rows[-1].get("time", rows[-1]["wall"]), rows[-1]["requests"], rows[-1]["records"]))
        result = {"name": name, "runs": rows, "floor": floor_info, "note": note}
        for key in ("wall", "cpu", "server_cpu", "rss_mb", "requests", "bytes", "records", "time"):
            values = [row[key] for row in rows if key in row]
            if values:
                result[key] = statistics.median(values)
                result[key + "_min"] = min(values)
                result[key + "_max"] = max(values)
        result["ok"] = all(row["ok"] for row in rows)
        if "time" not in result:
            result["time"] = result["wall"]
            result["time_min"] = result["wall_min"]
            result["time_max"] = result["wall_max"]
        self.results.append(result)
        return result

    # -- scenarios -------------------------------------------------------------------------------------------
    def inventory_file(self):
        """The S1 inventory source: default options apart from the connection."""
        path = os.path.join(self.workdir, "bench.veeam_em.yml")
        config = {"plugin": "opsbox.veeam_em.veeam_em", "url": self.sim.url, "username": self.sim.username,
                  "password": self.sim.password, "ca_path": self.sim.ca_path}
        if self.args.strategy != "fast":
            config["strategy"] = self.args.strategy
        with open(path, "w") as handle:
            json.dump(config, handle)
        return path

    def s1_plugin(self, inventory):
        """S1, in-process: InventoryManager parsing the source, only the plugin's work timed."""
        output = os.path.join(self.workdir, "s1_plugin.json")

        def factory():
            since = datetime.now(timezone.utc) - timedelta(hours=S1_LOOKBACK_HOURS)
            truth = self.truth_s1(since)

            def check(_stdout):
                with open(output) as handle:
                    data = json.load(handle)
                return data["answer"] == truth, {"time": data["plugin_seconds"], "hosts": data["hosts"]}
            return [self.python, os.path.join(HERE, "inventory_inprocess.py"), "--source", inventory, "--output", output], check
        return factory

    def s1_process(self, inventory):
        """S1, whole process: ansible-inventory --list."""
        output = os.path.join(self.workdir, "s1_inventory.json")

        def factory():
            since = datetime.now(timezone.utc) - timedelta(hours=S1_LOOKBACK_HOURS)
            truth = self.truth_s1(since)

            def check(_stdout):
                with open(output) as handle:
                    data = json.load(handle)
                answer = {}
                for hostvars in data["_meta"]["hostvars"].values():
                    for source in ("replica", "cdp"):
                        entry = hostvars.get("veeam_" + source)
                        if entry:
                            key = "%s|%s" % (plain(hostvars["veeam_backup_server_name"]), plain(hostvars["veeam_vm_name"]))
                            answer.setdefault(source, {})[key] = plain(entry["task_uid"])
                return answer == truth, {"hosts": len(data["_meta"]["hostvars"])}
            return [os.path.join(self.bindir, "ansible-inventory"), "-i", inventory, "--list", "--output", output], check
        return factory

    def baseline(self, script, scenario):
        """A baseline of benchmarks/baselines/ answering S1 or S2."""
        output = os.path.join(self.workdir, "%s_%s.json" % (scenario, script))
        hours = S1_LOOKBACK_HOURS if scenario == "s1" else S2_LOOKBACK_HOURS

        def factory():
            now = datetime.now(timezone.utc)
            since = now - timedelta(hours=hours)
            truth = self.truth_s1(since) if scenario == "s1" else self.truth_s2(since)

            def check(_stdout):
                with open(output) as handle:
                    data = json.load(handle)
                return data["answer"] == truth, {"records_parsed": data["records_parsed"]}
            return [self.python, os.path.join(HERE, "baselines", script + ".py"), "--url", self.sim.url,
                    "--username", self.sim.username, "--password", self.sim.password, "--ca-path", self.sim.ca_path,
                    "--scenario", scenario, "--now", iso(now), "--lookback-hours", str(hours), "--output", output], check
        return factory

    def adhoc(self, module, module_args):
        """``ansible localhost -m <module>``; its result is read from the ``localhost | SUCCESS => {...}`` line."""
        return [os.path.join(self.bindir, "ansible"), "localhost", "-i", "localhost,", "-c", "local",
                "-e", "ansible_python_interpreter=%s" % self.python, "-m", module] + (
                    ["-a", json.dumps(module_args)] if module_args else [])

    def s2_module(self):
        """S2: task_session_info, replica tasks that failed or warned in the last 24 h, as a real module run."""
        def factory():
            since = datetime.now(timezone.utc) - timedelta(hours=S2_LOOKBACK_HOURS)
            truth = self.truth_s2(since)
            command = self.adhoc("opsbox.veeam_em.task_session_info", {
                "url": self.sim.url, "username": self.sim.username, "password": self.sim.password,
                "ca_path": self.sim.ca_path, "session_type": "replica", "result": ["Failed", "Warning"],
                "created_after": iso(since)})

            def check(stdout):
                host = adhoc_result(stdout)
                answer = sorted(item["uid"] for item in host["task_sessions"])
                return answer == truth, {"returned": len(answer)}
            return command, check
        return factory

    def fixed_cost(self):
        """Ansible's fixed cost of running one module: ``ansible localhost -m ping``."""
        def factory():
            def check(stdout):
                return adhoc_result(stdout).get("ping") == "pong", {}
            return self.adhoc("ansible.builtin.ping", {}), check
        return factory


def machine_description():
    """CPU model, logical CPUs and memory from /proc, plus Python and OS."""
    model = "unknown CPU"
    cpus = 0
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name") and model == "unknown CPU":
                    model = line.split(":", 1)[1].strip()
                if line.startswith("processor"):
                    cpus += 1
    except OSError:
        pass
    memory = "unknown memory"
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemTotal"):
                    memory = "%.1f GiB RAM" % (int(line.split()[1]) / 1024.0 / 1024.0)
    except OSError:
        pass
    return "%s, %d logical CPUs, %s, %s, Python %s" % (model, cpus, memory, platform.platform(), platform.python_version())


def fmt_row(result):
    """One table line."""
    floor = result["floor"]
    ratio = result["time"] / floor["seconds"] if floor else None
    return "| %s | %d | %.2f (%.2f-%.2f) | %.2f | %d | %.1f | %d | %.2f | %.2f | %.0f | %s | %s | %s |" % (
        result["name"], len(result["runs"]), result["time"], result["time_min"], result["time_max"], result["wall"],
        result["requests"], result["bytes"] / 1e6, result["records"], result["cpu"], result["server_cpu"], result["rss_mb"],
        "%.3f" % floor["seconds"] if floor else "-", "%.2f" % ratio if ratio else "-", "yes" if result["ok"] else "NO")


HEADER = ("| scenario | runs | time s, median (min-max) | process wall s | requests | MB received | records | client CPU s "
          "| simulator CPU s | peak RSS MB | floor s | x floor | answer = truth |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def targets(by_name, fixed):
    """The issue-7 targets this run can judge: list of (target, measured, met)."""
    out = []
    ours = by_name.get("S1 plugin (in-process)")
    if ours:
        for base, factor in (("S1 serial pager", 20), ("S1 collection dump", 50)):
            if base in by_name:
                speedup = by_name[base]["time"] / ours["time"]
                out.append(("S1 >= %dx faster than %s" % (factor, base[3:]), "%.1fx" % speedup, speedup >= factor))
        ratio = ours["time"] / ours["floor"]["seconds"]
        out.append(("S1 plugin time <= 2x floor", "%.2fx (%.2f s vs %.3f s)" % (ratio, ours["time"], ours["floor"]["seconds"]),
                    ratio <= 2))
    process = by_name.get("S1 ansible-inventory --list")
    if process:
        out.append(("S1 peak RSS <= 250 MB (ansible-inventory process)", "%.0f MB" % process["rss_mb"], process["rss_mb"] <= 250))
    s2 = by_name.get("S2 task_session_info")
    if s2 and fixed:
        bound = fixed["wall"] + s2["floor"]["seconds"]
        ratio = s2["wall"] / bound
        out.append(("S2 <= 1.5x (Ansible fixed cost + floor)", "%.2fx (%.2f s vs %.2f s + %.3f s)" % (
            ratio, s2["wall"], fixed["wall"], s2["floor"]["seconds"]), ratio <= 1.5))
    return out


def smoke_checks(by_name):
    """Noise-free checks: answers, and requests/records against the floor's counts."""
    checks = []
    s1 = by_name["S1 plugin (in-process)"]
    s2 = by_name["S2 task_session_info"]
    checks.append(("S1 answer equals the simulator's truth", s1["ok"]))
    checks.append(("S2 answer equals the simulator's truth", s2["ok"]))
    checks.append(("S1 records %d <= %.1f x floor records %d" % (s1["records"], SMOKE_S1_RECORDS_FACTOR, s1["floor"]["records"]),
                   s1["records"] <= SMOKE_S1_RECORDS_FACTOR * s1["floor"]["records"]))
    checks.append(("S1 requests %d <= %.1f x floor requests %d" % (s1["requests"], SMOKE_S1_REQUESTS_FACTOR, s1["floor"]["requests"]),
                   s1["requests"] <= SMOKE_S1_REQUESTS_FACTOR * s1["floor"]["requests"]))
    checks.append(("S2 records %d <= %.1f x floor records %d" % (s2["records"], SMOKE_S2_RECORDS_FACTOR, s2["floor"]["records"]),
                   s2["records"] <= SMOKE_S2_RECORDS_FACTOR * s2["floor"]["records"]))
    checks.append(("S2 requests %d <= floor requests %d + %d" % (s2["requests"], s2["floor"]["requests"], SMOKE_S2_EXTRA_REQUESTS),
                   s2["requests"] <= s2["floor"]["requests"] + SMOKE_S2_EXTRA_REQUESTS))
    for name in ("S1 plugin (in-process)", "S2 task_session_info"):
        leaked = max(row["open_sessions"] for row in by_name[name]["runs"])
        checks.append(("%s leaves no EM logon session open (%d open)" % (name, leaked), leaked == 0))
    return checks


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="fast CI check: reduced data set, one run, count checks")
    parser.add_argument("--python", default=DEFAULT_PYTHON, help="interpreter of the venv with ansible-core (default core2.16)")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each of our scenarios")
    parser.add_argument("--baseline-repeat", type=int, default=1, help="runs of each baseline")
    parser.add_argument("--no-baselines", action="store_true")
    parser.add_argument("--vms", type=int, help="data set size override (default: the fleet preset, 5000)")
    parser.add_argument("--days", type=int, help="days of history override (default: the fleet preset, 30)")
    parser.add_argument("--strategy", default="fast", choices=["fast", "full_scan"], help="inventory strategy of S1 (default: the plugin's default)")
    parser.add_argument("--latency-ms", type=float, default=20)
    parser.add_argument("--per-record-us", type=float, default=20)
    parser.add_argument("--cache-dir", default=os.path.join(ROOT, ".cache", "simulator"))
    parser.add_argument("--results", default=os.path.join(HERE, "RESULTS.md"), help="Markdown report ('' for none)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeat = 1
        args.no_baselines = True
        args.vms = args.vms or 300
        args.results = ""
    return args


def _terminate(signum, _frame):
    """SIGTERM/SIGINT: leave through the finally clause, which stops the simulator and removes the work tree."""
    raise SystemExit(128 + signum)


def main(argv=None):
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    command_line = "python3 benchmarks/run.py " + " ".join(sys.argv[1:] if argv is None else argv)
    workdir = tempfile.mkdtemp(prefix="opsbox-bench-")
    sim = None
    try:
        tree_root = os.path.join(workdir, "tree")
        copy_tree(tree_root)
        options = dict(dataset="fleet", tls=True, port=0, cache_dir=args.cache_dir, state_dir=args.cache_dir,
                       latency_ms=args.latency_ms, per_record_us=args.per_record_us, vms=args.vms, days=args.days, timeout=1800)
        sim = start_simulator(**options)
        bench = Bench(args, sim, tree_root, workdir)
        params = sim.info["params"]
        sys.stderr.write("simulator: fleet %s at %s\n" % (json.dumps(params, sort_keys=True), sim.url))
        now = datetime.now(timezone.utc)
        truth1 = bench.truth_s1(now - timedelta(hours=S1_LOOKBACK_HOURS))
        truth2 = bench.truth_s2(now - timedelta(hours=S2_LOOKBACK_HOURS))
        floor1 = bench.floor([len(truth1["replica"]), len(truth1["cdp"])])
        floor2 = bench.floor([len(truth2)])
        inventory = bench.inventory_file()
        by_name = {}
        by_name["S1 plugin (in-process)"] = bench.scenario("S1 plugin (in-process)", args.repeat, bench.s1_plugin(inventory), floor1)
        if not args.smoke:
            by_name["S1 ansible-inventory --list"] = bench.scenario("S1 ansible-inventory --list", args.repeat,
                                                                    bench.s1_process(inventory), floor1)
        fixed = None
        if not args.smoke:
            fixed = bench.scenario("Ansible fixed cost (ping)", args.repeat, bench.fixed_cost(), None)
        by_name["S2 task_session_info"] = bench.scenario("S2 task_session_info", args.repeat, bench.s2_module(), floor2)
        if not args.no_baselines:
            for scenario, floor in (("s1", floor1), ("s2", floor2)):
                for script, label in (("serial_pager", "serial pager"), ("collection_dump", "collection dump")):
                    name = "%s %s" % (scenario.upper(), label)
                    by_name[name] = bench.scenario(name, args.baseline_repeat, bench.baseline(script, scenario), floor)
        print(HEADER)
        for result in bench.results:
            print(fmt_row(result))
        if args.smoke:
            checks = smoke_checks(by_name)
            for text, passed in checks:
                print("%s %s" % ("PASS" if passed else "FAIL", text))
            for failure in bench.failures:
                print("FAIL %s" % failure)
            failed = sum(1 for _text, passed in checks if not passed) + len(bench.failures)
            print("bench-smoke: %d passed, %d failed" % (sum(1 for _text, passed in checks if passed), failed))
            return 1 if failed else 0
        met = targets(by_name, fixed)
        print("")
        for text, measured, passed in met:
            print("%s %s: %s" % ("MET   " if passed else "MISSED", text, measured))
        for failure in bench.failures:
            print("FAIL %s" % failure)
        if args.results:
            write_results(args.results, command_line, params, bench, met, floor1, floor2)
        return 1 if bench.failures else 0
    finally:
        if sim is not None:
            sim.stop()
        shutil.rmtree(workdir, ignore_errors=True)


def write_results(path, command_line, params, bench, met, floor1, floor2):
    """benchmarks/RESULTS.md."""
    lines = [
        "# Benchmark results (issue 7)",
        "",
        "Figures generated by `benchmarks/run.py`; only a Notes section after them is written by hand.",
        "",
        "- Date: %s" % datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "- Machine: %s" % machine_description(),
        "- Command: `%s`" % command_line,
        "- Client: `%s` (%s)" % (os.path.relpath(bench.python, ROOT), subprocess.run(
            [bench.python, "-c", "import ansible; print('ansible-core ' + ansible.__version__)"], env=bench.env,
            capture_output=True, text=True, check=False).stdout.strip()),
        "- Simulator: data set `fleet` with `%s`, cost model %g ms per request + %g us per record returned, TLS, XML"
        % (json.dumps(params, sort_keys=True), bench.args.latency_ms, bench.args.per_record_us),
        "- Runs: %d per scenario of ours, %d per baseline; figures are medians, (min-max) is the spread."
        % (bench.args.repeat, bench.args.baseline_repeat),
        "",
        "## Figures",
        "",
        "`time` is the plugin's own time for `S1 plugin (in-process)` (InventoryManager parsing the source, Ansible "
        "imports excluded) and the process wall time for every other row. Requests, bytes and records come from the "
        "simulator's `/admin/stats` (bytes sent by EM = received by the client). CPU time and peak RSS are those of the "
        "client process and its descendants (`os.wait4`). Simulator CPU s is the CPU the simulator process used "
        "during the run (/proc): its real work of filtering and rendering, which the cost model does not include and "
        "which shares the machine's CPUs with the client.",
        "",
        HEADER,
    ]
    lines.extend(fmt_row(result) for result in bench.results)
    lines.extend([
        "",
        "## The floor",
        "",
        "The time the simulated server needs to hand over only the records the answer truly requires, from its configured "
        "costs and its ground truth: (1 logon + ceil(records / %d) pages per source) x %g ms / concurrency %d + records "
        "x %g us." % (PAGE_SIZE, bench.args.latency_ms, CONCURRENCY, bench.args.per_record_us),
        "",
        "- S1 (newest replica and CDP task per VM, 7 days): %d records, %d requests -> %.3f s"
        % (floor1["records"], floor1["requests"], floor1["seconds"]),
        "- S2 (failed + warning replica tasks, 24 h): %d records, %d requests -> %.3f s"
        % (floor2["records"], floor2["requests"], floor2["seconds"]),
        "",
        "## Issue-7 targets",
        "",
        "| target | measured | status |",
        "|---|---|---|",
    ])
    lines.extend("| %s | %s | %s |" % (text, measured, "met" if passed else "**missed**") for text, measured, passed in met)
    if bench.failures:
        lines.extend(["", "## Failures", ""] + ["- %s" % failure.replace("\n", " ") for failure in bench.failures])
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")


if __name__ == "__main__":
    sys.exit(main())
