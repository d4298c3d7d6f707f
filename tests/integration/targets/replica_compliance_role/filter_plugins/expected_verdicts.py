# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test-only filter: the verdicts the simulator's ground truth implies, written from the role's rules
independently of the collection's code (it never imports it)."""

from __future__ import annotations

import datetime


def _moment(text):
    """Parse the simulator's truth times (1 to 3 fraction digits, Z)."""
    if text is None:
        return None
    text = str(text).rstrip("Z")
    if "." in text:
        head, fraction = text.split(".", 1)
        text = "%s.%s" % (head, fraction.ljust(6, "0")[:6])
    else:
        text += ".000000"
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=datetime.timezone.utc)


def _key(record):
    return "%s/%s" % (record["BackupServerName"], record["VmDisplayName"])


def _newest_per_vm(records):
    newest = {}
    for record in records:
        key = _key(record)
        if key not in newest or _moment(record["CreationTimeUTC"]) > _moment(newest[key]["CreationTimeUTC"]):
            newest[key] = record
    return newest


def expected_verdicts(latest, completed, successes, now, rpo_hours):
    """``{"server/vm": {"reasons": [...], "last_result", "job_name", "task_uid", "last_success_time"}}``.

    *latest*: truth latest_tasks of the window; *completed* and *successes*: truth query records of the
    window with State==Completed and with Result==Success;State==Completed.
    """
    now = _moment(now)
    rpo = datetime.timedelta(hours=float(rpo_hours))
    last_completed = _newest_per_vm(completed)
    last_success = {}
    for record in successes:
        key = _key(record)
        if key not in last_success or _moment(record["CreationTimeUTC"]) > _moment(last_success[key]["CreationTimeUTC"]):
            last_success[key] = record
    verdicts = {}
    for record in latest:
        key = _key(record)
        reasons = []
        if record["EndTimeUTC"] is None and now - _moment(record["CreationTimeUTC"]) > rpo:
            reasons.append("running_past_rpo")
        finished = last_completed.get(key)
        if finished is not None and finished["Result"] == "Failed":
            reasons.append("failed")
        if finished is not None and finished["Result"] == "Warning":
            reasons.append("warning")
        success = last_success.get(key)
        if success is None:
            reasons.append("never_succeeded")
        elif now - _moment(success["EndTimeUTC"]) > rpo:
            reasons.append("stale")
        verdicts[key] = {
            "reasons": reasons,
            "last_result": record["Result"],
            "job_name": record["JobName"],
            "task_uid": record["UID"],
            "last_success_time": _moment(success["EndTimeUTC"]).strftime("%Y-%m-%dT%H:%M:%S.%fZ") if success else None,
        }
    return verdicts


def actual_verdicts(result, source):
    """The same shape, from the role's result, for one source."""
    verdicts = {}
    for row in result["vms"]:
        check = row["checks"].get(source)
        if check is None:
            continue
        verdicts["%s/%s" % (row["backup_server_name"], row["vm_name"])] = {
            "reasons": list(check["reasons"]),
            "last_result": check["last_result"],
            "job_name": check["job_name"],
            "task_uid": check["task_uid"],
            "last_success_time": check["last_success_time"],
        }
    return verdicts


def verdict_essence(result):
    """What the modules mode and the inventory mode must agree on, sorted: per VM and source, the verdict and its facts."""
    keys = ("reasons", "last_result", "last_success_time", "job_name", "task_uid", "last_run_time", "running")
    rows = []
    for row in result["vms"]:
        for source, check in sorted(row["checks"].items()):
            rows.append([row["backup_server_name"], row["vm_name"], source] + [check[key] for key in keys])
    return sorted(rows, key=lambda item: [str(part) for part in item])


class FilterModule:
    """Ground-truth helpers of the replica_compliance integration target."""

    def filters(self):
        return {"expected_verdicts": expected_verdicts, "actual_verdicts": actual_verdicts, "verdict_essence": verdict_essence}
