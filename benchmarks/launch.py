# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Measuring launcher: run one command and report its wall time, CPU time and peak RSS.

    python3 -I -S benchmarks/launch.py REPORT.json -- command [args...]

Why a launcher: on Linux a child's ``ru_maxrss`` starts from the resident set of the process
that forked it, so a child forked by the harness (about 125 MB of truth data) could never
report less than the harness's size. This script is started as a fresh interpreter without
``site`` (about 10 MB), forks, execs the command and reads ``os.wait4``'s resource usage of it:
peak RSS of the command or of its largest waited-for descendant, and user + system CPU of the
command and all its waited-for descendants. The command inherits stdin/stdout/stderr and the
environment. Writes ``{"rc", "wall", "cpu", "maxrss_kb"}`` as JSON to REPORT.json and exits
with the command's exit code. Standard library only.
"""

import json
import os
import sys
import time


def main(argv):
    if len(argv) < 3 or argv[1] != "--":
        sys.stderr.write("usage: launch.py REPORT.json -- command [args...]\n")
        return 2
    report, command = argv[0], argv[2:]
    started = time.monotonic()
    pid = os.fork()
    if pid == 0:  # the child: become the command
        try:
            os.execvp(command[0], command)
        except OSError as exc:
            sys.stderr.write("launch.py: cannot run %s: %s\n" % (command[0], exc))
        finally:
            os._exit(127)  # pylint: disable=protected-access
    _pid, status, usage = os.wait4(pid, 0)
    wall = time.monotonic() - started
    code = os.waitstatus_to_exitcode(status)
    with open(report, "w") as handle:
        json.dump({"rc": code, "wall": wall, "cpu": usage.ru_utime + usage.ru_stime, "maxrss_kb": usage.ru_maxrss}, handle)
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
