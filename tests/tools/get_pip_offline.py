# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Offline stand-in for the get-pip.py script that ansible-test bootstraps virtual environments with.

ansible-test creates an empty virtual environment for each sanity test and runs
``~/.ansible/test/cache/get_pip_<version>.py`` inside it to install pip. When that file
is missing it downloads it from a host that the machines of this project cannot reach.
``tests/tools/ci.py`` copies this file to that cache path before ansible-test runs.

It accepts the arguments ansible-test passes to get-pip (pip options, package pins such
as ``pip==25.2``, ``--no-setuptools``, ``--no-wheel``), bootstraps pip from the
interpreter's own ``ensurepip`` and then lets that pip install the pinned packages from
the configured package index.
"""

import ensurepip
import os
import subprocess
import sys

GET_PIP_ONLY_OPTIONS = ('--no-setuptools', '--no-wheel', '--no-pip')


def pip_install_arguments(argv):
    """Return the arguments for ``pip install`` from the ones get-pip.py was given."""
    return [arg for arg in argv if arg not in GET_PIP_ONLY_OPTIONS]


def main():
    """Bootstrap pip with ensurepip, then install the pinned packages."""
    # ensurepip points PIP_CONFIG_FILE at /dev/null and drops PIP_* variables in this process
    # so that its own offline install ignores user settings; the later install must see the
    # machine's pip configuration again (index, certificate bundle), so it gets the original.
    environment = dict(os.environ)
    ensurepip.bootstrap(upgrade=False, default_pip=True)
    arguments = pip_install_arguments(sys.argv[1:])
    command = [sys.executable, '-m', 'pip', 'install', '--quiet'] + arguments
    return subprocess.call(command, env=environment)


if __name__ == '__main__':
    sys.exit(main())
