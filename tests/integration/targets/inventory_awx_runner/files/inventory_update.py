# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run an inventory update the way AWX does: ansible-inventory --list --export through ansible-runner.

Usage: inventory_update.py PRIVATE_DATA_DIR INVENTORY_FILE OUTPUT_FILE. The environment variables come
only from PRIVATE_DATA_DIR/env/envvars (where AWX writes what a credential's injector produced). The
inventory JSON goes to OUTPUT_FILE (as AWX asks with --output); ansible-runner's merged output is
printed; the exit code is ansible-inventory's.
"""

import os
import sys

import ansible_runner
import yaml


def main():
    private_data_dir, source, output = sys.argv[1], sys.argv[2], sys.argv[3]
    with open(os.path.join(private_data_dir, "env", "envvars")) as handle:
        envvars = yaml.safe_load(handle)
    out, err, rc = ansible_runner.run_command(
        executable_cmd="ansible-inventory",
        cmdline_args=["-i", source, "--playbook-dir", os.path.join(private_data_dir, "project"), "--list", "--export",
                       "--output", output],
        envvars=envvars,
        private_data_dir=private_data_dir,
        quiet=True,
    )
    sys.stdout.write(out)
    sys.stderr.write(err)
    return rc


if __name__ == "__main__":
    sys.exit(main())
