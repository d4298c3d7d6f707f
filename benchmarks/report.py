# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Figures of the benchmark harness: medians, the issue-7 targets, the stdout table and RESULTS.md.

Pure formatting over the measurements ``run.py`` collects; nothing here starts a process apart from
``draw_chart`` (the chart script in its own venv) and ``client_version`` (asks the client's Python).
"""

import json
import os
import platform
import statistics
import subprocess
import sys
from datetime import datetime, timezone

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

S1_SERIAL_FACTOR = 20        # S1 at least 20 x faster than the serial pager
S1_DUMP_FACTOR = 50          # ... and 50 x faster than the collection dump
S1_FLOOR_FACTOR = 2.0        # S1 plugin time at most 2 x the floor
S1_RSS_MB = 250              # S1 peak RSS
MODULE_FACTOR = 1.5          # S2-S4 at most 1.5 x (fixed cost + floor)
HISTORY_FACTOR = 1.2         # 90 days cost at most 1.2 x 30 days
VM_FACTOR_PER_4X = 4.5       # 20,000 VMs cost at most 4.5 x 5,000 VMs
CONCURRENCY_FACTOR = 4.0     # the default concurrency at least 4 x faster than 1 at 100 ms per request
CODEC_FACTOR = 1.5           # codec + normalisation at most 1.5 x the bare parse
MODULE_SCENARIOS = ("S2 task_session_info", "S3 replica_session_info", "S4 cdp_task_session_info")

HEADER = ("| scenario | runs | time s, median (min-max) | process wall s | requests | MB received | records | client CPU s "
          "| simulator CPU s | peak RSS MB | floor s | x floor | answer = truth |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|")


def aggregate(name, rows, floor_info=None, note=""):
    """Medians, minima and maxima of a scenario's runs."""
    result = {"name": name, "runs": rows, "floor": floor_info, "note": note}
    for key in ("wall", "cpu", "server_cpu", "rss_mb", "requests", "bytes", "records", "time", "ansible_setup"):
        values = [row[key] for row in rows if key in row]
        if values:
            result[key] = statistics.median(values)
            result[key + "_min"] = min(values)
            result[key + "_max"] = max(values)
    result["ok"] = bool(rows) and all(row["ok"] for row in rows)
    if "time" not in result and "wall" in result:
        result["time"] = result["wall"]
        result["time_min"] = result["wall_min"]
        result["time_max"] = result["wall_max"]
    return result


def setup_note(results):
    """How long Ansible's own setup took in the in-process S1 runs (``inventory_inprocess.py`` builds it first, untimed)."""
    values = [result["ansible_setup"] for result in results if "ansible_setup" in result]
    if not values:
        return ""
    return (": an InventoryManager over `localhost,` is built first, which loads the enabled inventory plugins and "
            "ansible.builtin's routing table, %.2f s at the median, paid once by any inventory source" % statistics.median(values))


def dataset_facts(sim, startup_seconds):
    """Size and origin of a simulator's data set, for the report."""
    params = sim.info["params"]
    counts = sim.truth("counts")
    return {"vms": params["vms"], "days": params["days"], "cdp_vms": params["cdp_vms"],
            "generated": bool(sim.info.get("dataset_built")), "generate_seconds": sim.info.get("generate_seconds"),
            "startup_seconds": startup_seconds,
            "task_sessions": sum(value for key, value in counts.items() if key.endswith("TaskSession") and isinstance(value, int))}


def fmt_row(result):
    """One table line."""
    floor = result["floor"]
    ratio = result["time"] / floor["seconds"] if floor and floor["seconds"] else None
    return "| %s | %d | %.2f (%.2f-%.2f) | %.2f | %d | %.1f | %d | %.2f | %.2f | %.0f | %s | %s | %s |" % (
        result["name"], len(result["runs"]), result["time"], result["time_min"], result["time_max"], result["wall"],
        result["requests"], result["bytes"] / 1e6, result["records"], result["cpu"], result["server_cpu"], result["rss_mb"],
        "%.3f" % floor["seconds"] if floor else "-", "%.2f" % ratio if ratio else "-", "yes" if result["ok"] else "NO")


def table(results):
    """The figures table (Markdown, also printed on stdout)."""
    return "\n".join([HEADER] + [fmt_row(result) for result in results])


def scaling_summary(args, points):
    """Split the scaling points into the VM series and the history series, with their ratios."""
    vm_points = sorted((point for point in points if point["days"] == args.scale_days and point["vms"] in args.scale_vms),
                       key=lambda point: point["vms"])
    history_points = sorted((point for point in points if point["vms"] == args.history_vms and point["days"] in args.history_days),
                            key=lambda point: point["days"])
    summary = {"vm_points": vm_points, "history_points": history_points, "vm_ratio": None, "history_ratio": None,
               "vm_factor_target": VM_FACTOR_PER_4X / 4.0, "history_target": HISTORY_FACTOR,
               "title": "Inventory plugin (in-process, default options), %g ms per request + %g us per record" % (
                   args.latency_ms, args.per_record_us)}
    if len(vm_points) >= 2:
        large = vm_points[-1]
        small = next((point for point in vm_points if point["vms"] * 4 == large["vms"]), vm_points[-2])
        factor = large["vms"] / float(small["vms"])
        summary["vm_ratio"] = {"small": small, "large": large, "factor": factor, "ratio": large["time"] / small["time"],
                               "limit": VM_FACTOR_PER_4X / 4.0 * factor}
    if len(history_points) >= 2:
        short, long_ = history_points[0], history_points[-1]
        summary["history_ratio"] = {"short": short, "long": long_, "ratio": long_["time"] / short["time"],
                                    "limit": HISTORY_FACTOR}
    return summary


def _module_target(by_name, name, fixed, empty=None, echo=None, request_seconds=None):
    result = by_name.get(name)
    if not result or not fixed:
        return None
    bound = fixed["wall"] + result["floor"]["seconds"]
    ratio = result["wall"] / bound
    beside = ""
    if echo:
        # A module that only hands back this answer: what Ansible itself costs for a result of this size.  Any
        # module that reads the answer also waits for the server at least the floor, after it started (the echo
        # includes the start) and before it can return: echo + floor is a lower bound for every module.
        least_any = echo["wall"] + result["floor"]["seconds"]
        beside += "; a module only returning this answer takes %.2f s = %.2fx the bound; with the floor it must wait " \
                  "for, %.2f s = %.2fx, %s" % (
                      echo["wall"], echo["wall"] / bound, least_any, least_any / bound,
                      "so no module can meet this target" if least_any > MODULE_FACTOR * bound else "ours is %.2fx it" % (
                          result["wall"] / least_any))
    if echo and empty and request_seconds is not None:
        # Any module of this collection pays both: Ansible carrying the answer (the echo) and talking to EM at
        # all (imports of requests, TLS, logon, logoff: the empty answer's time over ping). The empty run's
        # requests are taken out entirely, as if the floor already held every one of them.
        connect = max(0.0, empty["wall"] - fixed["wall"] - empty["requests"] * request_seconds)
        least = echo["wall"] + connect
        beside += "; echo + connecting to EM (empty answer - ping - its %d requests = %.2f s) = %.2f s = %.2fx the bound%s" % (
            empty["requests"], connect, least, least / bound,
            ", so no module of this collection can meet this target" if least > MODULE_FACTOR * bound else "")
    if empty:
        # what the target leaves out: the module's own fixed cost (imports, TLS, probe, logon, logoff)
        beside += "; vs this module's fixed cost (empty answer %.2f s) + floor: %.2fx" % (
            empty["wall"], result["wall"] / (empty["wall"] + result["floor"]["seconds"]))
    return ("%s <= %gx (Ansible fixed cost + floor)" % (name.split(" ", 1)[0], MODULE_FACTOR),
            "%.2fx (%.2f s vs %.2f s + %.3f s%s)" % (ratio, result["wall"], fixed["wall"], result["floor"]["seconds"], beside),
            ratio <= MODULE_FACTOR)


def concurrency_ideal(pages, concurrency):
    """Best speed-up of the client's walk (page 1 alone, then ``concurrency`` pages in flight) over a serial one."""
    return pages / float(1 + -(-(pages - 1) // concurrency)) if concurrency > 1 else 1.0


def targets(by_name, extras, scaling):
    """The issue-7 targets this run can judge: list of (target, measured, met)."""
    out = []
    ours = by_name.get("S1 plugin (in-process)")
    process = by_name.get("S1 ansible-inventory --list")
    if ours:
        for base, factor in (("S1 serial pager", S1_SERIAL_FACTOR), ("S1 collection dump", S1_DUMP_FACTOR)):
            if base in by_name:
                speedup = by_name[base]["time"] / ours["time"]
                beside = "; whole ansible-inventory process %.1fx" % (by_name[base]["time"] / process["time"]) if process else ""
                out.append(("S1 >= %dx faster than the %s" % (factor, base[3:]), "%.1fx (plugin in-process%s)" % (speedup, beside),
                            speedup >= factor))
        ratio = ours["time"] / ours["floor"]["seconds"]
        beside = "; ansible-inventory process %.2f s = %.1fx" % (process["time"], process["time"] / ours["floor"]["seconds"]) if process else ""
        cached = by_name.get("S1 plugin from its cache (no EM request)")
        if cached:
            # building the same inventory with no request at all, plus the floor's transfer, is a lower bound
            least = cached["time"] + ours["floor"]["seconds"]
            beside += "; the same inventory built from the plugin's cache takes %.2f s, so any plugin needs >= %.2f s = %.1fx the floor%s" % (
                cached["time"], least, least / ours["floor"]["seconds"],
                " and none can meet this target" if least > S1_FLOOR_FACTOR * ours["floor"]["seconds"] else "")
        out.append(("S1 plugin time <= %gx floor" % S1_FLOOR_FACTOR, "%.2fx (%.2f s vs %.3f s%s)" % (
            ratio, ours["time"], ours["floor"]["seconds"], beside), ratio <= S1_FLOOR_FACTOR))
    if process:
        out.append(("S1 peak RSS <= %d MB (ansible-inventory process)" % S1_RSS_MB, "%.0f MB (max of runs %.0f MB)" % (
            process["rss_mb"], process["rss_mb_max"]), process["rss_mb_max"] <= S1_RSS_MB))
    fixed = by_name.get("Ansible fixed cost (ping)")
    for name in MODULE_SCENARIOS:
        row = _module_target(by_name, name, fixed, by_name.get("Module fixed cost (empty answer)"),
                             by_name.get(name + " lower bound (its answer echoed)"), extras.get("request_seconds"))
        if row:
            out.append(row)
    if scaling and scaling.get("history_ratio"):
        item = scaling["history_ratio"]
        out.append(("%d days of history cost <= %gx %d days (%s VMs)" % (
            item["long"]["days"], HISTORY_FACTOR, item["short"]["days"], format(item["short"]["vms"], ",")),
            "%.2fx (%.2f s vs %.2f s)" % (item["ratio"], item["long"]["time"], item["short"]["time"]), item["ratio"] <= item["limit"]))
    if scaling and scaling.get("vm_ratio"):
        item = scaling["vm_ratio"]
        out.append(("%s VMs cost <= %.3gx %s VMs" % (format(item["large"]["vms"], ","), item["limit"], format(item["small"]["vms"], ",")),
                    "%.2fx (%.2f s vs %.2f s)" % (item["ratio"], item["large"]["time"], item["small"]["time"]), item["ratio"] <= item["limit"]))
    run = extras.get("concurrency")
    if run:
        speedup = run["serial"]["time"] / run["default"]["time"]
        pages = run["query"]["pages"]
        out.append(("%d-page query at %g ms/request: default concurrency >= %gx faster than 1" % (
            pages, run["latency_ms"], CONCURRENCY_FACTOR),
            "%.2fx (%.2f s vs %.2f s; concurrency %d, at best %.2fx for this walk)" % (
                speedup, run["serial"]["time"], run["default"]["time"], run["concurrency"],
                concurrency_ideal(pages, run["concurrency"])), speedup >= CONCURRENCY_FACTOR))
    codec = extras.get("codec")
    if codec:
        for wire in ("xml", "json"):
            part = codec[wire]
            ratio = part["ours_seconds"] / part["bare_seconds"]
            out.append(("Client CPU, %s: codec + normalisation <= %gx bare %s" % (
                wire.upper(), CODEC_FACTOR, "xmltodict.parse" if wire == "xml" else "json.loads"),
                "%.2fx (%.3f s vs %.3f s CPU for %d records%s)" % (
                    ratio, part["ours_seconds"], part["bare_seconds"], part["records"],
                    codec_floor_note(part)),
                ratio <= CODEC_FACTOR))
    return out


def codec_floor_note(part):
    """What the least Python work costs on the same JSON pages, and whether it alone is over the target."""
    if not part.get("least_seconds"):
        return ""
    note = "; renaming the keys alone, in Python, is %.2fx" % (part["least_seconds"] / part["bare_seconds"])
    floor = part.get("least_facts_seconds") or part["least_seconds"]
    if part.get("least_facts_seconds"):
        note += ", the least work that returns the documented facts is %.2fx" % (floor / part["bare_seconds"])
    if floor / part["bare_seconds"] > CODEC_FACTOR:
        note += ", so no Python normalisation returning these facts can meet this target"
    return note


def draw_chart(python, scaling, outdir, workdir):
    """Write ``<outdir>/scaling.png`` with chart.py in the chart venv; return its file name or None."""
    if not python:
        return None
    data_path = os.path.join(workdir, "scaling.json")
    keep = ("vms", "days", "time", "time_min", "time_max", "records", "requests", "rss_mb")
    with open(data_path, "w") as handle:
        json.dump({"title": scaling["title"], "vm_factor_target": scaling["vm_factor_target"],
                   "history_target": scaling["history_target"],
                   "vm_points": [dict((key, point[key]) for key in keep) for point in scaling["vm_points"]],
                   "history_points": [dict((key, point[key]) for key in keep) for point in scaling["history_points"]]}, handle)
    target = os.path.join(outdir, "scaling.png")
    done = subprocess.run([python, os.path.join(HERE, "chart.py"), data_path, target], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.stderr.write("no chart: %s\n" % done.stderr[-2000:])
        return None
    return "scaling.png"


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
    return "%s, %d logical CPUs, %s, %s, harness Python %s" % (model, cpus, memory, platform.platform(), platform.python_version())


def client_version(python, env):
    """``ansible-core X (Python Y)`` of the client interpreter."""
    done = subprocess.run([python, "-c", "import ansible, platform; print('ansible-core %s, Python %s' % "
                                         "(ansible.__version__, platform.python_version()))"],
                          env=env, capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


def launcher_floor():
    """Peak RSS the launcher reports for /bin/true: the resolution of every RSS figure."""
    usage = os.path.join(os.environ.get("TMPDIR", "/tmp"), "opsbox-bench-launch-%d.json" % os.getpid())
    try:
        subprocess.run([sys.executable, "-I", "-S", os.path.join(HERE, "launch.py"), usage, "--", "true"], check=False)
        with open(usage) as handle:
            return json.load(handle)["maxrss_kb"] / 1024.0
    except (OSError, ValueError, KeyError):
        return None
    finally:
        if os.path.exists(usage):
            os.unlink(usage)


def _floor_lines(floors, bench):
    costs = (bench.page_size, bench.args.latency_ms, bench.concurrency, bench.args.per_record_us)
    lines = ["## The floor", "",
             "The time the simulated server needs to hand over only the records the answer truly requires, from its configured "
             "costs and its ground truth (`/admin/truth/*`): (1 logon + ceil(records / %d) pages per query) x %g ms / "
             "concurrency %d + records x %g us. Page size and concurrency are the client's defaults, read from the tree "
             "(`plugins/module_utils/_paging.py`)." % costs, ""]
    for key in ("S1", "S2", "S3", "S4", "S5"):
        if key in floors:
            floor = floors[key]
            lines.append("- %s (%s): %s records in %d %s, %d requests -> %.3f s" % (
                key, floor["label"], format(floor["records"], ","), floor["queries"], "query" if floor["queries"] == 1 else "queries",
                floor["requests"], floor["seconds"]))
    lines.extend(["", "S2-S4 are judged against Ansible's fixed cost of running a module, measured as the wall time of "
                  "`ansible localhost -m ping` (row `Ansible fixed cost (ping)`), plus the floor. Row `Module fixed cost (empty "
                  "answer)` is `cdp_task_session_info` asked for sessions created after tomorrow: everything a module run of "
                  "this collection pays without records (imports, TLS, probe, logon, one empty page, logoff), shown beside "
                  "the target as a second ratio. S1 and S5 floors count "
                  "only the newest task session per VM; the inventory's and the role's `last_success_time` need older "
                  "records for VMs whose newest task failed, so those floors are lower bounds.", ""])
    return lines


def _concurrency_row(label, result):
    figures = (label, result["time"], result["time_min"], result["time_max"], result["requests"], result["cpu"])
    return "| %s | %.2f (%.2f-%.2f) | %d | %.2f |" % figures


def _concurrency_lines(run):
    query = run["query"]
    return ["## Concurrency", "",
            "One paged query through the client in-process (`benchmarks/query_inprocess.py`; logon not timed): "
            "`ReplicaTaskSession` with `%s`, %s records, page size %d -> %d pages, at %g ms per request "
            "(+ %g us per record), the client's default concurrency (%d) against concurrency 1, %d runs each, alternating."
            % (query["filter"], format(query["records"], ","), query["page_size"], query["pages"], run["latency_ms"],
               run["per_record_us"], run["concurrency"], len(run["default"]["runs"])), "",
            "| concurrency | query time s, median (min-max) | requests | client CPU s |", "|---|---|---|---|",
            _concurrency_row("%d (default)" % run["concurrency"], run["default"]), _concurrency_row("1", run["serial"]), "",
            "The client fetches page 1 alone (it tells the page count), then keeps `concurrency` pages in flight, so "
            "with %d pages and concurrency %d the walk takes at least 1 + ceil(%d / %d) = %d request times against %d "
            "serially: %.2fx is the best this walk can reach." % (
                query["pages"], run["concurrency"], query["pages"] - 1, run["concurrency"],
                1 + -(-(query["pages"] - 1) // run["concurrency"]), query["pages"],
                concurrency_ideal(query["pages"], run["concurrency"])), ""]


def _codec_lines(codec):
    lines = ["## Client CPU: codec + normalisation vs bare parse", "",
             "Fleet pages of `ReplicaTaskSession` entities (newest first) downloaded once per wire format, then parsed "
             "from memory, best of 5, CPU seconds of the process (`benchmarks/codec_cpu.py`). Bare: `xmltodict.parse(body)` / "
             "`json.loads(body)`. Ours: `_codec.decode` + `_codec.query_records` + `_records.normalize` of every record, "
             "imported from the tree.", "",
             "| wire format | pages | records | MB | bare s | ours s | ours / bare | records/s (ours) |", "|---|---|---|---|---|---|---|---|"]
    for wire in ("xml", "json"):
        part = codec[wire]
        lines.append("| %s | %d | %d | %.1f | %.3f | %.3f | %.2f | %s |" % (
            wire.upper(), part["pages"], part["records"], part["bytes"] / 1e6, part["bare_seconds"], part["ours_seconds"],
            part["ours_seconds"] / part["bare_seconds"], format(int(part["records"] / part["ours_seconds"]), ",")))
    least = codec.get("json", {}).get("least_seconds")
    if least:
        bare = codec["json"]["bare_seconds"]
        with_times = codec["json"].get("least_times_seconds", 0)
        lines.extend(["", "Least pure-Python work on the JSON pages (`least` in codec_cpu.py: `json.loads`, then one new dict per "
                      "record with its keys renamed through a ready map, no value converted): %.3f s = %.2fx the bare parse; with "
                      "the creation and end times read by C's `datetime.fromisoformat` for `duration_seconds` "
                      "(`least_with_times`): %.3f s = %.2fx." % (least, least / bare, with_times, with_times / bare)])
        facts = codec["json"].get("least_facts_seconds")
        if facts:
            lines.extend(["", "The least work that returns the documented facts (`least_facts`: the above, plus both times written "
                          "in the fact form and the backup server and parent session read from the `Up` links; no case folding, "
                          "no enum spelling, no checks): %.3f s = %.2fx the bare parse. The target allows %.1fx, so it cannot be "
                          "met by any Python code that returns these facts; the collection may not add a C extension (its "
                          "dependencies are ansible-core, requests and xmltodict)." % (facts, facts / bare, CODEC_FACTOR)
                          if facts / bare > CODEC_FACTOR else
                          "The least work that returns the documented facts (`least_facts`): %.3f s = %.2fx the bare "
                          "parse, within the target." % (facts, facts / bare)])
    lines.append("")
    return lines


def _scaling_lines(scaling, chart):
    lines = ["## Scaling", "",
             "The inventory plugin in-process (default options, as S1), each data set in its own simulator process; the fleet "
             "preset with `--vms`/`--days` changed and CDP VMs kept at 10% of the VMs. `data set` says whether the run "
             "generated it (with the generation time) or found it in `.cache/simulator`.", "",
             "| VMs | days | CDP VMs | task sessions | data set | plugin time s, median (min-max) | requests | records | MB received "
             "| client CPU s | simulator CPU s | peak RSS MB | answer = truth |", "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    seen = []
    for point in scaling["vm_points"] + scaling["history_points"]:
        if (point["vms"], point["days"]) in seen:
            continue
        seen.append((point["vms"], point["days"]))
        origin = "generated in %.1f s" % point["generate_seconds"] if point.get("generated") else "cached"
        lines.append("| %s | %d | %d | %s | %s | %.2f (%.2f-%.2f) | %d | %s | %.1f | %.2f | %.2f | %.0f | %s |" % (
            format(point["vms"], ","), point["days"], point["cdp_vms"], format(point.get("task_sessions", 0), ","), origin,
            point["time"], point["time_min"], point["time_max"], point["requests"], format(int(round(point["records"])), ","),
            point["bytes"] / 1e6, point["cpu"], point["server_cpu"], point["rss_mb"], "yes" if point["ok"] else "NO"))
    lines.append("")
    if scaling.get("vm_ratio"):
        item = scaling["vm_ratio"]
        lines.append("- %s vs %s VMs (x%g): time %.2fx, records %.2fx, requests %.2fx, client CPU %.2fx, simulator CPU %.2fx "
                     "(target <= %.3gx)" % (
                         format(item["large"]["vms"], ","), format(item["small"]["vms"], ","), item["factor"], item["ratio"],
                         item["large"]["records"] / float(item["small"]["records"] or 1),
                         item["large"]["requests"] / float(item["small"]["requests"] or 1),
                         item["large"]["cpu"] / (item["small"]["cpu"] or 1e-9),
                         item["large"]["server_cpu"] / (item["small"]["server_cpu"] or 1e-9), item["limit"]))
    if scaling.get("history_ratio"):
        item = scaling["history_ratio"]
        lines.append("- %d vs %d days: time %.2fx, records %.2fx, requests %.2fx (target <= %gx)" % (
            item["long"]["days"], item["short"]["days"], item["ratio"],
            item["long"]["records"] / float(item["short"]["records"] or 1), item["long"]["requests"] / float(item["short"]["requests"] or 1),
            item["limit"]))
    lines.append("")
    if chart:
        lines.extend(["![Scaling of the inventory plugin](%s)" % chart, ""])
    else:
        lines.extend(["(No chart: matplotlib could not be prepared in `.cache/bench-venv`; see the run's stderr.)", ""])
    return lines


def write_results(path, ctx):
    """RESULTS.md, generated entirely; ``ctx`` holds what run.py measured."""
    bench, args = ctx["bench"], ctx["args"]
    rss_floor = launcher_floor()
    lines = [
        "# Benchmark results (issue 7)",
        "",
        "Generated by `benchmarks/run.py` (`make bench`); do not edit by hand. Notes, profiles and analysis are kept in "
        "[NOTES.md](NOTES.md).",
        "",
        "- Date: %s" % datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "- Machine: %s" % machine_description(),
        "- Command: `%s` (%.1f minutes)" % (ctx["command"], ctx["duration"] / 60.0),
        "- Client: `%s` (%s)" % (os.path.relpath(ctx["python"], ROOT), client_version(ctx["python"], bench.env if bench else None)),
    ]
    if ctx["params"]:
        lines.append("- Simulator: data set `fleet` with `%s`, cost model %g ms per request + %g us per record returned, TLS, XML"
                     % (json.dumps(ctx["params"], sort_keys=True), args.latency_ms, args.per_record_us))
    lines.extend([
        "- Runs: %d per scenario of ours (S5: %d, scaling: %d), %d per baseline; figures are medians, (min-max) is the spread."
        % (args.repeat, args.s5_repeat, args.scale_repeat, args.baseline_repeat),
        "- Peak RSS: every child runs under `benchmarks/launch.py`, a fresh `python3 -I -S` that forks the command and "
        "reads `os.wait4`, so it is the command's own peak (or its largest descendant's); the launcher alone reports "
        "%s for `true`, the resolution of these figures." % ("%.1f MB" % rss_floor if rss_floor else "a few MB"),
        "",
    ])
    if bench and bench.results:
        lines.extend([
            "## Figures", "",
            "`time` is the plugin's own time for `S1 plugin (in-process)` (InventoryManager parsing the source; Ansible's "
            "imports and its one-time plugin-loader setup excluded%s), the query time for the concurrency rows, and the "
            "process wall time for every other row. " % setup_note(bench.results),
            "Requests, bytes and records come from the simulator's `/admin/stats` (bytes sent by EM = received by the "
            "client). Client CPU and peak RSS are the child's (with its descendants, e.g. the module process under "
            "`ansible`). Simulator CPU is what the simulator process used during the run (/proc): its real work of "
            "filtering and rendering, which the cost model does not include and which shares the machine's CPUs with "
            "the client. S5 runs the role with its defaults plus a report folder and `replica_compliance_fail_on_violation: "
            "false`; its answer is checked VM by VM (newest task per source) against the truth.",
            "", table(bench.results), ""])
        lines.extend(_floor_lines(ctx["floors"], bench))
    if ctx["extras"].get("concurrency"):
        lines.extend(_concurrency_lines(ctx["extras"]["concurrency"]))
    if ctx["extras"].get("codec"):
        lines.extend(_codec_lines(ctx["extras"]["codec"]))
    if ctx["scaling"]:
        lines.extend(_scaling_lines(ctx["scaling"], ctx["chart"]))
    lines.extend(["## Issue-7 targets", "", "| target | measured | status |", "|---|---|---|"])
    lines.extend("| %s | %s | %s |" % (text, measured, "met" if passed else "**missed**") for text, measured, passed in ctx["met"])
    judged = set(text.split(" ", 1)[0] for text, _measured, _passed in ctx["met"])
    missing = [name for name in ("S1", "S2", "S3", "S4") if name not in judged]
    if missing:
        lines.extend(["", "Not judged in this run (not selected with `--only`, or a part failed): %s." % ", ".join(missing)])
    if ctx["failures"]:
        lines.extend(["", "## Failures", ""] + ["- %s" % failure.replace("\n", " ").replace("|", "\\|") for failure in ctx["failures"]])
    with open(path, "w") as handle:
        handle.write("\n".join(lines) + "\n")
