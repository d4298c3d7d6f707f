# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Child process of the harness: build the inventory in-process and time the plugin alone.

Imports Ansible and lets it set up its plugin loading first (not timed), then times
``InventoryManager`` parsing the given ``*veeam_em.yml`` source - the plugin's own work: its imports,
logon, the EM reads and building hosts and groups.

Ansible's setup is one ``InventoryManager`` over the host list ``localhost,``: the first one in a
process loads the enabled inventory plugins and reads ansible.builtin's routing table
(``ansible_builtin_runtime.yml``), about 0.25 s here, which every inventory source pays once,
whatever its plugin (see benchmarks/NOTES.md, session 8).  This plugin's own import and its
collection's metadata are not part of it: ``localhost,`` never loads them.

Writes ``{"plugin_seconds", "ansible_setup_seconds", "answer", "hosts"}`` as JSON to ``--output``;
the answer is the newest task UID per source and (backup server, VM), for the harness to compare
with the simulator's truth.
"""

import argparse
import json
import sys
import time

from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.plugins.loader import init_plugin_loader


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", required=True)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()
    init_plugin_loader()  # collection paths from ANSIBLE_COLLECTIONS_PATH, as the ansible CLIs do
    loader = DataLoader()
    started = time.monotonic()
    InventoryManager(loader=loader, sources=["localhost,"])
    ansible_setup = time.monotonic() - started
    if "ansible_collections.opsbox.veeam_em.plugins.inventory.veeam_em" in sys.modules:
        raise SystemExit("Ansible's setup loaded the plugin under test: it would not be timed")
    started = time.monotonic()
    inventory = InventoryManager(loader=loader, sources=[args.source])
    seconds = time.monotonic() - started
    answer = {}
    for host in inventory.get_hosts():
        hostvars = host.get_vars()
        for source in ("replica", "cdp"):
            entry = hostvars.get("veeam_" + source)
            if entry:
                key = "%s|%s" % (hostvars["veeam_backup_server_name"], hostvars["veeam_vm_name"])
                answer.setdefault(source, {})[key] = str(entry["task_uid"])
    with open(args.output, "w") as handle:
        json.dump({"plugin_seconds": seconds, "ansible_setup_seconds": ansible_setup, "answer": answer, "hosts": len(inventory.get_hosts())}, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
