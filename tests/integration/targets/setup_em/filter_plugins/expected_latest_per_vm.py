# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Test-only filter: the UIDs latest_per_vm must return, computed from a full read of the window
independently of the collection's code (it never imports it)."""

from __future__ import annotations


def _finished(task):
    return task.get("end_time") is not None and task.get("state") in ("Completed", "Stopped")


def expected_latest_per_vm(tasks):
    """Sorted UIDs of, per (kind, server, VM), the newest, newest finished and newest successful task session."""
    groups = {}
    for task in tasks:
        key = (task.get("session_type"), task.get("backup_server_name"), task.get("vm_name"))
        groups.setdefault(key, []).append(task)
    wanted = set()
    for items in groups.values():
        items = sorted(items, key=lambda item: (item.get("creation_time") or "", item.get("uid") or ""), reverse=True)
        wanted.add(items[0]["uid"])
        finished = [item for item in items if _finished(item)]
        if finished:
            wanted.add(finished[0]["uid"])
        succeeded = [item for item in finished if item.get("result") == "Success"]
        if succeeded:
            wanted.add(succeeded[0]["uid"])
    return sorted(wanted)


class FilterModule:
    """expected_latest_per_vm."""

    def filters(self):
        return {"expected_latest_per_vm": expected_latest_per_vm}
