# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Development and CI driver behind the Makefile targets.

Every target works from nothing on a fresh machine: it creates the virtual environments it
needs under ``.cache/`` (one per supported ansible-core line), copies the checkout into the
``ansible_collections/opsbox/veeam_em`` layout that ansible-test insists on, and runs the
checks there. ``test`` runs every check on both lines, stops at the first failure and ends
with one summary line in the ``N passed, N failed`` form.

Only the standard library is used: this file runs under whatever ``python3`` the machine has.
"""

import argparse
import atexit
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tarfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CACHE = os.path.abspath(os.environ.get('VEEAM_EM_CACHE', os.path.join(ROOT, '.cache')))
TOOLS = os.path.join(ROOT, 'tests', 'tools')
COLLECTION_PARTS = ('ansible_collections', 'opsbox', 'veeam_em')

# The two supported ansible-core lines: the lowest (meta/runtime.yml says >=2.16) and the newest.
# ansible-core 2.20 and later need Python 3.12 or newer on the controller.
LINES = {
    'low': {'core': '2.16', 'python': '3.11', 'requirements': 'requirements-core2.16.txt'},
    'new': {'core': '2.21', 'python': '3.12', 'requirements': 'requirements-core2.21.txt'},
}

# Sanity tests that can only run in ansible-core's own repository or need a container
# runtime are skipped by ansible-test itself; nothing is skipped here on purpose.
SANITY_ARGS = ['--color', 'no', '--requirements']


class CheckFailed(Exception):
    """A check failed; the message says which one."""


class Tally:
    """Counts test results across every runner so that ``test`` can end with one summary line."""

    # pytest's closing line, framed by '=' normally and bare with -q: '121 passed, 3 skipped in 17.41s'
    PYTEST_SUMMARY = re.compile(r'^(?:=+ )?(?P<body>\d+ (?:passed|failed|skipped|errors?|deselected)[^=]*) in [\d.]+s')
    PYTEST_PART = re.compile(r'(\d+) (passed|failed|skipped|errors?|xfailed|xpassed|deselected)')

    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def add_pytest_output(self, text):
        """Add the counts from pytest's closing line(s) found in ``text``."""
        found = False
        for line in text.splitlines():
            match = self.PYTEST_SUMMARY.match(line.strip())
            if not match:
                continue
            found = True
            for count, word in self.PYTEST_PART.findall(match.group('body')):
                if word in ('passed', 'xfailed', 'xpassed'):
                    self.passed += int(count)
                elif word in ('failed', 'error', 'errors'):
                    self.failed += int(count)
                elif word == 'skipped':
                    self.skipped += int(count)
        return found

    def line(self):
        """The closing line, in the form CI reads."""
        text = 'total: %d passed, %d failed' % (self.passed, self.failed)
        if self.skipped:
            text += ', %d skipped' % self.skipped
        return text


def say(message):
    """Print a progress line that stands out from the tools' own output."""
    print('==> %s' % message, flush=True)


def run(command, cwd=ROOT, env=None, capture=False):
    """Run a command, streaming its output; return (returncode, output text if captured)."""
    say('$ %s' % ' '.join(command))
    if not capture:
        return subprocess.call(command, cwd=cwd, env=env), ''
    process = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                               universal_newlines=True, errors='replace')
    lines = []
    for line in process.stdout:
        sys.stdout.write(line)
        lines.append(line)
    sys.stdout.flush()
    return process.wait(), ''.join(lines)


# ---------------------------------------------------------------------------- interpreters

def python_version_of(executable):
    """Return 'X.Y' for an interpreter, or None when it does not run."""
    try:
        output = subprocess.check_output([executable, '-c', 'import sys; print("%d.%d" % sys.version_info[:2])'],
                                         stderr=subprocess.DEVNULL, universal_newlines=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    return output.strip()


def find_python(version):
    """Find a real CPython ``version`` interpreter (never a pyenv shim of one that is not installed)."""
    candidates = []
    pyenv_root = os.environ.get('PYENV_ROOT', os.path.expanduser('~/.pyenv'))
    versions_dir = os.path.join(pyenv_root, 'versions')
    if os.path.isdir(versions_dir):
        for name in sorted(os.listdir(versions_dir), reverse=True):
            if name == version or name.startswith(version + '.'):
                candidates.append(os.path.join(versions_dir, name, 'bin', 'python' + version))
    candidates += [os.path.join(prefix, 'python' + version) for prefix in ('/usr/local/bin', '/usr/bin')]
    found = shutil.which('python' + version)
    if found:
        candidates.append(found)
    for candidate in candidates:
        if os.path.exists(candidate) and python_version_of(candidate) == version:
            return candidate
    raise CheckFailed(
        'Python %s was not found. ansible-core %s needs it on the controller. Install it (for example '
        '"pyenv install %s" or the python%s package of your distribution) and run make again.'
        % (version, ' / '.join(line['core'] for line in LINES.values() if line['python'] == version), version, version))


# ---------------------------------------------------------------------------- environments

def file_digest(*paths):
    """A short digest of files' contents, used to tell when a venv must be rebuilt."""
    digest = hashlib.sha256()
    for path in paths:
        with open(path, 'rb') as handle:
            digest.update(handle.read())
    return digest.hexdigest()[:16]


def venv_dir(line):
    """Where the virtual environment of a line lives."""
    return os.path.join(CACHE, 'venv', 'core' + LINES[line]['core'])


def venv_bin(line, name):
    """Path of an executable in a line's virtual environment."""
    return os.path.join(venv_dir(line), 'bin', name)


def ensure_venv(line):
    """Create or refresh the virtual environment of a line; cheap when it is up to date."""
    spec = LINES[line]
    requirements = os.path.join(TOOLS, spec['requirements'])
    stamp_value = '%s %s' % (spec['python'], file_digest(requirements))
    target = venv_dir(line)
    stamp = os.path.join(target, '.requirements-stamp')
    if os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read().strip() == stamp_value:
                return target
    interpreter = find_python(spec['python'])
    say('creating the ansible-core %s environment with %s' % (spec['core'], interpreter))
    shutil.rmtree(target, ignore_errors=True)
    env = pip_environment()
    for command in ([interpreter, '-m', 'venv', target],
                    [os.path.join(target, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', '--upgrade', 'pip'],
                    [os.path.join(target, 'bin', 'python'), '-m', 'pip', 'install', '--quiet', '-r', requirements]):
        returncode, dummy = run(command, env=env)
        if returncode:
            raise CheckFailed('creating the ansible-core %s environment failed (%s)' % (spec['core'], ' '.join(command)))
    with open(stamp, 'w') as handle:
        handle.write(stamp_value + '\n')
    return target


def pip_environment():
    """Environment for pip: its download cache lives in the folder the Makefile owns."""
    env = dict(os.environ)
    env['PIP_CACHE_DIR'] = os.path.join(CACHE, 'pip')
    env['PIP_DISABLE_PIP_VERSION_CHECK'] = '1'
    return env


def line_environment(line):
    """Environment with the line's venv first on PATH: ansible-lint, antsibull and ansible-test call tools by name."""
    env = pip_environment()
    env['PATH'] = os.path.join(venv_dir(line), 'bin') + os.pathsep + env.get('PATH', '')
    env['VIRTUAL_ENV'] = venv_dir(line)
    env.pop('PYTHONPATH', None)
    env['ANSIBLE_COLLECTIONS_PATH'] = tree_root(line)
    env['ANSIBLE_NOCOLOR'] = '1'
    env['ANSIBLE_LINT_SKIP_VERSION_CHECK'] = '1'
    return env


def install_get_pip_stand_in(line):
    """Put the offline get-pip stand-in where ansible-test looks for its cached download."""
    source_dir = os.path.join(venv_dir(line), 'lib')
    versions = set()
    for dirpath, dummy, filenames in os.walk(source_dir):
        if dirpath.endswith(os.path.join('ansible_test', '_internal')) and 'python_requirements.py' in filenames:
            with open(os.path.join(dirpath, 'python_requirements.py')) as handle:
                versions.update(re.findall(r"pip='([0-9.]+)'", handle.read()))
    if not versions:
        raise CheckFailed('could not find the pip version ansible-test pins; the get-pip stand-in was not installed')
    cache_dir = os.path.expanduser('~/.ansible/test/cache')
    os.makedirs(cache_dir, exist_ok=True)
    for version in versions:
        shutil.copyfile(os.path.join(TOOLS, 'get_pip_offline.py'),
                        os.path.join(cache_dir, 'get_pip_%s.py' % version.replace('.', '_')))


# ---------------------------------------------------------------------------- the collection tree

def tracked_files():
    """Files of the checkout: tracked ones plus new ones git does not ignore (or every file without git)."""
    try:
        output = subprocess.check_output(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'],
                                         cwd=ROOT, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.CalledProcessError):
        output = None
    if output is not None:
        return [name for name in output.decode('utf-8').split('\0') if name and os.path.isfile(os.path.join(ROOT, name))]
    files = []
    for dirpath, dirnames, filenames in os.walk(ROOT):
        dirnames[:] = [name for name in dirnames if name not in ('.git', '.cache', 'tests/output') and not name.startswith('.')]
        files.extend(os.path.relpath(os.path.join(dirpath, name), ROOT) for name in filenames)
    return files


def tree_root(line):
    """Where this run's copy of the collection for a line lives.

    One folder per driver process, so that two make runs at once (two terminals, or a
    developer beside CI) never delete each other's tree; it is removed when the run ends.
    """
    return os.path.join(CACHE, 'tree', '%s-%d' % (line, os.getpid()))


def remove_trees():
    """Remove the trees this process made."""
    for line in LINES:
        shutil.rmtree(tree_root(line), ignore_errors=True)


def prepare_tree(line):
    """Copy the checkout to <tree root>/ansible_collections/opsbox/veeam_em.

    ansible-test resolves symlinks and refuses a collection that does not physically sit in
    that layout, so a copy is the reliable way; it is rebuilt for every check.
    """
    target = os.path.join(tree_root(line), *COLLECTION_PARTS)
    shutil.rmtree(target, ignore_errors=True)
    for name in tracked_files():
        destination = os.path.join(target, name)
        os.makedirs(os.path.dirname(destination), exist_ok=True)
        shutil.copy2(os.path.join(ROOT, name), destination)
    # The tree sits below this checkout, whose .gitignore hides .cache/; ansible-test would
    # find that repository and see no files at all. A repository of its own fixes that.
    for command in (['git', 'init', '--quiet'], ['git', 'add', '--all']):
        subprocess.check_call(command, cwd=target)
    return target


def ansible_test(line, tree, arguments, tally, capture_pytest=False):
    """Run ansible-test in the tree with the line's interpreter."""
    env = line_environment(line)
    command = [venv_bin(line, 'ansible-test')] + arguments + ['--python', LINES[line]['python']]
    returncode, output = run(command, cwd=tree, env=env, capture=True)
    if capture_pytest:
        tally.add_pytest_output(output)
    return returncode, output


# ---------------------------------------------------------------------------- checks

def check_sanity(line, tally):
    """ansible-test sanity: every test, no ignore entries."""
    tree = prepare_tree(line)
    ignore_files = glob.glob(os.path.join(ROOT, 'tests', 'sanity', 'ignore-*.txt'))
    if any(os.path.getsize(path) for path in ignore_files):
        raise CheckFailed('tests/sanity/ignore-*.txt has entries; this project keeps none: fix the code instead')
    install_get_pip_stand_in(line)
    returncode, output = ansible_test(line, tree, ['sanity'] + SANITY_ARGS, tally)
    ran = re.findall(r"""^Running sanity test ['"]([^'"]+)['"]""", output, flags=re.MULTILINE)
    if returncode:
        tally.passed += max(len(ran) - 1, 0)
        tally.failed += 1
        raise CheckFailed('ansible-test sanity failed on ansible-core %s' % LINES[line]['core'])
    tally.passed += len(ran)


def check_units(line, tally):
    """ansible-test units (pytest) for the plugins' pure functions and the client."""
    tree = prepare_tree(line)
    if not os.path.isdir(os.path.join(tree, 'tests', 'unit')):
        say('no unit tests yet (tests/unit is missing)')
        return
    install_get_pip_stand_in(line)
    returncode, dummy = ansible_test(line, tree, ['units', '--color', 'no', '--requirements'], tally, capture_pytest=True)
    if returncode:
        raise CheckFailed('ansible-test units failed on ansible-core %s' % LINES[line]['core'])


def run_pytest_suite(line, tally, path, failure, extra_args=(), env=None):
    """A plain pytest suite of this repository, with the line's interpreter, counted in the tally."""
    command = [venv_bin(line, 'python'), '-m', 'pytest', '-q', '-p', 'no:cacheprovider'] + list(extra_args) + [path]
    returncode, output = run(command, env=env or line_environment(line), capture=True)
    if not tally.add_pytest_output(output):
        # No summary line at all (a crash or an import error before collection): count it as one failure.
        tally.failed += 1
    if returncode:
        raise CheckFailed(failure)


def check_simulator(line, tally):
    """The EM simulator's own test suite."""
    run_pytest_suite(line, tally, 'tests/simulator/tests', 'the simulator tests failed on Python %s' % LINES[line]['python'])


def check_report_browser(line, tally):
    """The compliance report as a person sees it: the playbook, then headless Chromium (installed when missing)."""
    run_pytest_suite(line, tally, 'tests/report_browser', 'the report browser test failed on ansible-core %s' % LINES[line]['core'])


def check_bench_smoke(line, tally):
    """The benchmark harness on a small data set: request and record counts against the floor's."""
    command = [sys.executable, os.path.join('benchmarks', 'run.py'), '--smoke', '--python', venv_bin(line, 'python')]
    returncode, output = run(command, env=pip_environment(), capture=True)
    match = re.search(r'^bench-smoke: (\d+) passed, (\d+) failed', output, flags=re.MULTILINE)
    if match:
        tally.passed += int(match.group(1))
        tally.failed += int(match.group(2))
    if returncode or not match:
        raise CheckFailed('the benchmark smoke check failed on ansible-core %s' % LINES[line]['core'])


# ---------------------------------------------------------------------------- reliability (issue 8)

RELIABILITY_DIR = os.path.join('tests', 'reliability')
RELIABILITY_DOC = os.path.join(ROOT, 'docs', 'reliability.md')
# What make test runs of the suite: the cases not marked slow (under two minutes).
RELIABILITY_SUBSET = ['-m', 'not slow']


def check_reliability_subset(line, tally):
    """The reliability suite's representative subset (faults, secrets), as make test runs it."""
    run_pytest_suite(line, tally, RELIABILITY_DIR, 'the reliability subset failed on ansible-core %s' % LINES[line]['core'],
                     extra_args=RELIABILITY_SUBSET)


def reliability_matrix(results):
    """Rows of the matrix: (group, cases run, passed, failed, skipped, seconds), in first-seen order."""
    rows = {}
    for nodeid in sorted(results):
        result = results[nodeid]
        row = rows.setdefault(result['group'], [result['group'], 0, 0, 0, 0, 0.0])
        row[1] += 1
        row[{'passed': 2, 'failed': 3, 'skipped': 4}[result['outcome']]] += 1
        row[5] += result['duration']
    return sorted(rows.values(), key=lambda row: (not row[0].startswith('fault'), row[0]))


def fault_grid(results):
    """{entry point: {fault: 'T/P' marks}} from the fault matrix's case properties."""
    grid = {}
    faults = []
    for result in results.values():
        group, case = result['group'], result['properties'].get('case', '')
        if not group.startswith('fault matrix: ') or ' ' not in case:
            continue
        fault, mode = case.rsplit(' ', 1)
        if fault not in faults:
            faults.append(fault)
        mark = {'passed': 'ok', 'failed': 'FAIL', 'skipped': 'skip'}[result['outcome']]
        grid.setdefault(group[len('fault matrix: '):], {}).setdefault(fault, {})[mode] = mark
    order = ['latency', '5xx', '429', 'reset', 'truncate', 'token_expiry', 'logon_cap']
    faults.sort(key=lambda name: (order.index(name) if name in order else len(order), name))
    return grid, faults


def format_matrix(rows):
    """The matrix as aligned text for the terminal."""
    lines = ['%-44s %5s %7s %7s %8s %9s' % ('group / entry point', 'run', 'passed', 'failed', 'skipped', 'seconds')]
    for group, count, passed, failed, skipped, seconds in rows:
        lines.append('%-44s %5d %7d %7d %8d %9.1f' % (group, count, passed, failed, skipped, seconds))
    totals = [sum(row[index] for row in rows) for index in range(1, 6)]
    lines.append('%-44s %5d %7d %7d %8d %9.1f' % tuple(['total'] + totals))
    return '\n'.join(lines)


def machine_description():
    """CPU model, CPU count and memory of this machine, for the figures' context."""
    model = 'unknown CPU'
    memory = ''
    try:
        with open('/proc/cpuinfo') as handle:
            found = re.search(r'^model name\s*:\s*(.+)$', handle.read(), flags=re.MULTILINE)
            model = found.group(1).strip() if found else model
        with open('/proc/meminfo') as handle:
            found = re.search(r'^MemTotal:\s*(\d+) kB', handle.read(), flags=re.MULTILINE)
            memory = ', %.0f GB RAM' % (int(found.group(1)) / 1024.0 / 1024.0) if found else ''
    except OSError:
        pass
    return '%s, %d CPUs%s, %s' % (model, os.cpu_count() or 0, memory, ' '.join(os.uname()[0:3:2]))


def reliability_section(line, results, wall, returncode):
    """The Markdown of one line's run."""
    rows = reliability_matrix(results)
    text = ['## ansible-core %s (Python %s)' % (LINES[line]['core'], LINES[line]['python']), '',
            '%d cases in %.0f s (wall, whole suite); pytest exit code %d.' % (sum(row[1] for row in rows), wall, returncode), '',
            '| group / entry point | cases run | passed | failed | skipped | seconds |', '|---|---|---|---|---|---|']
    for group, count, passed, failed, skipped, seconds in rows:
        text.append('| %s | %d | %d | %d | %d | %.1f |' % (group, count, passed, failed, skipped, seconds))
    totals = [sum(row[index] for row in rows) for index in range(1, 6)]
    text.append('| **total** | %d | %d | %d | %d | %.1f |' % tuple(totals))
    grid, faults = fault_grid(results)
    if grid:
        text += ['', 'Fault matrix, transient / persistent (ok = passed):', '',
                 '| entry point | %s |' % ' | '.join(faults), '|---|%s' % ('---|' * len(faults))]
        for entry in sorted(grid):
            cells = ['%s / %s' % (grid[entry].get(fault, {}).get('transient', '-'), grid[entry].get(fault, {}).get('persistent', '-'))
                     for fault in faults]
            text.append('| %s | %s |' % (entry, ' | '.join(cells)))
    figures = [(nodeid, result) for nodeid, result in sorted(results.items())
               if result['group'] in ('load', 'secrets') or 'peak_rss_mb' in result['properties']]
    if figures:
        text += ['', '| case | outcome | seconds | figures |', '|---|---|---|---|']
        for nodeid, result in figures:
            extra = dict((key, value) for key, value in result['properties'].items() if key not in ('group', 'case', 'seconds'))
            text.append('| %s | %s | %s | %s |' % (result['properties'].get('case', nodeid.split('::')[-1]), result['outcome'],
                                                   result['properties'].get('seconds', '%.1f' % result['duration']),
                                                   ', '.join('%s %s' % item for item in sorted(extra.items())) or ''))
    failed = sorted(nodeid for nodeid, result in results.items() if result['outcome'] == 'failed')
    if failed:
        text += ['', 'Failed:', ''] + ['- `%s`' % nodeid for nodeid in failed]
    slowest = sorted(results.items(), key=lambda item: -item[1]['duration'])[:5]
    text += ['', 'Slowest cases: ' + ', '.join('`%s` %.1f s' % (nodeid.split('::')[-1], result['duration'])
                                               for nodeid, result in slowest) + '.']
    return '\n'.join(text)


def write_reliability_doc(sections, command):
    """docs/reliability.md: when, where, how, and each line's matrix and figures."""
    header = [
        '# Reliability figures', '',
        'Written by `%s` (tests/tools/ci.py); do not edit by hand. The suite and what each case checks are described in '
        'the docstrings of `tests/reliability/test_*.py`.' % command, '',
        '- date: %s' % time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
        '- machine: %s' % machine_description(),
        '- command: `%s`' % command, '',
    ]
    os.makedirs(os.path.dirname(RELIABILITY_DOC), exist_ok=True)
    with open(RELIABILITY_DOC, 'w') as handle:
        handle.write('\n'.join(header + ['\n\n'.join(sections)]) + '\n')


def command_reliability(args):
    """The whole reliability suite on the selected lines: prints the matrix, writes docs/reliability.md."""
    tally = Tally()
    sections = []
    failed = False
    try:
        for line in selected_lines(args.line):
            ensure_venv(line)
            results_path = os.path.join(CACHE, 'reliability-%s-%d.json' % (line, os.getpid()))
            env = line_environment(line)
            env['RELIABILITY_RESULTS'] = results_path
            started = time.time()
            command = [venv_bin(line, 'python'), '-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-rf', RELIABILITY_DIR]
            returncode, output = run(command, env=env, capture=True)
            wall = time.time() - started
            if not tally.add_pytest_output(output) or not os.path.exists(results_path):
                raise CheckFailed('the reliability suite did not run on ansible-core %s' % LINES[line]['core'])
            with open(results_path) as handle:
                results = json.load(handle)
            os.remove(results_path)
            say('reliability matrix, ansible-core %s (%.0f s):' % (LINES[line]['core'], wall))
            print(format_matrix(reliability_matrix(results)), flush=True)
            sections.append(reliability_section(line, results, wall, returncode))
            failed = failed or bool(returncode)
    except CheckFailed as failure:
        say('FAILED: %s' % failure)
        print(tally.line())
        return 1
    write_reliability_doc(sections, 'make reliability LINE=%s' % args.line)
    say('wrote %s' % os.path.relpath(RELIABILITY_DOC, ROOT))
    if failed:
        say('FAILED: the reliability suite has failures')
    print(tally.line())
    return 1 if failed else 0


def start_simulator(line, extra_args=(), tree=ROOT):
    """Start the EM simulator over HTTPS and return (process, ready-line dict)."""
    env = line_environment(line)
    env['PYTHONPATH'] = os.path.join(tree, 'tests', 'simulator')
    command = [venv_bin(line, 'python'), '-m', 'em_simulator', 'serve', '--tls', '--port', '0',
               '--state-dir', os.path.join(CACHE, 'simulator'), '--cache-dir', os.path.join(CACHE, 'simulator')] + list(extra_args)
    say('$ %s' % ' '.join(command))
    process = subprocess.Popen(command, cwd=tree, env=env, stdout=subprocess.PIPE, universal_newlines=True)
    line_text = process.stdout.readline()
    try:
        ready = json.loads(line_text)
    except ValueError:
        process.kill()
        raise CheckFailed('the simulator did not start (it printed %r)' % line_text[:200])
    return process, ready


def stop_simulator(process):
    """Stop the simulator with SIGTERM, as a user's Ctrl-C would."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def write_integration_config(tree, ready):
    """ansible-test passes tests/integration/integration_config.yml to every target as extra vars.

    Environment variables do not reach the targets (ansible-test keeps only a few), so this
    file is how the targets learn where the simulator listens.
    """
    config = {
        'veeam_em_url': ready['url'],
        'veeam_em_ca_path': ready.get('ca_path', ''),
        'veeam_em_admin_url': ready['admin_url'],
        'veeam_em_username': ready['username'],
        'veeam_em_password': ready['password'],
    }
    path = os.path.join(tree, 'tests', 'integration', 'integration_config.yml')
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, 'w') as handle:
        handle.write('---\n')
        for key, value in sorted(config.items()):
            handle.write('%s: %s\n' % (key, json.dumps(value)))


def check_integration(line, tally):
    """ansible-test integration against a simulator started for the run (every target, or those in $TARGETS)."""
    tree = prepare_tree(line)
    if not os.listdir(os.path.join(tree, 'tests', 'integration', 'targets')):
        raise CheckFailed('there are no integration targets')
    process, ready = start_simulator(line, ['--dataset', 'tiny'], tree=tree)
    try:
        write_integration_config(tree, ready)
        targets = os.environ.get('TARGETS', '').split()
        returncode, output = ansible_test(line, tree, ['integration', '--color', 'no'] + targets, tally)
    finally:
        stop_simulator(process)
    targets = re.findall(r'^Running (\S+) integration test role', output, flags=re.MULTILINE)
    if returncode:
        tally.passed += max(len(targets) - 1, 0)
        tally.failed += 1
        raise CheckFailed('ansible-test integration failed on ansible-core %s' % LINES[line]['core'])
    tally.passed += len(targets)


def check_lint(tally):
    """ansible-lint with the production profile, on the newest line."""
    tree = prepare_tree('new')
    env = line_environment('new')
    returncode, dummy = run([venv_bin('new', 'ansible-lint'), '--profile', 'production', '--offline', '--nocolor'], cwd=tree, env=env)
    if returncode:
        tally.failed += 1
        raise CheckFailed('ansible-lint (production profile) found problems')
    tally.passed += 1


def plugin_names(root):
    """(type, fully qualified name) for every plugin the collection ships."""
    found = []
    plugins_dir = os.path.join(root, 'plugins')
    for plugin_type in ('modules', 'inventory', 'lookup', 'filter', 'test', 'callback'):
        directory = os.path.join(plugins_dir, plugin_type)
        if not os.path.isdir(directory):
            continue
        for name in sorted(os.listdir(directory)):
            if name.endswith('.py') and not name.startswith('_'):
                ansible_doc_type = 'module' if plugin_type == 'modules' else plugin_type
                found.append((ansible_doc_type, 'opsbox.veeam_em.' + name[:-3]))
    return found


def check_build(tally):
    """Build the artifact, check what it leaves out, install it and run ansible-doc on every plugin."""
    tree = prepare_tree('new')
    env = line_environment('new')
    dist = os.path.join(CACHE, 'dist')
    installed = os.path.join(CACHE, 'installed')
    shutil.rmtree(dist, ignore_errors=True)
    shutil.rmtree(installed, ignore_errors=True)
    returncode, dummy = run([venv_bin('new', 'ansible-galaxy'), 'collection', 'build', '--output-path', dist], cwd=tree, env=env)
    if returncode:
        tally.failed += 1
        raise CheckFailed('ansible-galaxy collection build failed')
    artifacts = [name for name in os.listdir(dist) if name.endswith('.tar.gz')]
    artifact = os.path.join(dist, artifacts[0])
    with tarfile.open(artifact) as archive:
        members = archive.getnames()
    leaked = [name for name in members if name.split('/')[0] in ('tests', 'benchmarks', '.ci', '.cache', 'Makefile', 'dist')]
    if leaked:
        tally.failed += 1
        raise CheckFailed('the artifact contains files build_ignore should keep out: %s' % ', '.join(leaked[:10]))
    tally.passed += 1
    env['ANSIBLE_COLLECTIONS_PATH'] = installed
    returncode, dummy = run([venv_bin('new', 'ansible-galaxy'), 'collection', 'install', '--force', '-p', installed, artifact], env=env)
    if returncode:
        tally.failed += 1
        raise CheckFailed('installing the built artifact failed')
    tally.passed += 1
    for plugin_type, name in plugin_names(tree):
        returncode, output = run([venv_bin('new', 'ansible-doc'), '-t', plugin_type, name], env=env, capture=True)
        if returncode or name.lower() not in output.lower():
            tally.failed += 1
            raise CheckFailed('ansible-doc -t %s %s failed from the installed artifact' % (plugin_type, name))
        tally.passed += 1


def check_docs(tally):
    """antsibull-docs lint-collection-docs, then the docs site built with warnings as errors (tests/tools/docs.py)."""
    # Imported here, not at the top: docs.py imports this module.
    import docs  # pylint: disable=import-outside-toplevel
    docs.lint_docs(tally)
    docs.build_docs(tally)


def check_release(tally, release=False):
    """galaxy-importer, a fresh install from the tarball alone and ansible-builder (tests/tools/release.py)."""
    # Imported here, not at the top: release.py imports this module.
    import release as release_checks  # pylint: disable=import-outside-toplevel
    release_checks.run_checks(tally, release=release)


# ---------------------------------------------------------------------------- commands

def selected_lines(name):
    """The lines a command runs on."""
    return list(LINES) if name == 'all' else [name]


def command_test(dummy_args):
    """Everything CI checks, on both lines, stopping at the first failure."""
    tally = Tally()
    started = time.time()
    try:
        for line in LINES:
            ensure_venv(line)
        for line in LINES:
            check_simulator(line, tally)
            check_sanity(line, tally)
            check_units(line, tally)
            check_integration(line, tally)
            check_report_browser(line, tally)
            check_bench_smoke(line, tally)
            check_reliability_subset(line, tally)
        check_lint(tally)
        check_docs(tally)
        check_build(tally)
        check_release(tally)
    except CheckFailed as failure:
        if not tally.failed:
            tally.failed = 1
        say('FAILED: %s' % failure)
        say('make test took %.0f s' % (time.time() - started))
        print(tally.line())
        return 1
    say('make test took %.0f s' % (time.time() - started))
    print(tally.line())
    return 0


def single_check(function, args, per_line=True):
    """Run one check (on the selected lines) and print its summary line."""
    tally = Tally()
    try:
        if per_line:
            for line in selected_lines(args.line):
                ensure_venv(line)
                function(line, tally)
        else:
            ensure_venv('new')
            function(tally)
    except CheckFailed as failure:
        say('FAILED: %s' % failure)
        print(tally.line())
        return 1
    print(tally.line())
    return 0


def command_simulator(args):
    """Run the simulator in the foreground (the Makefile's ``simulator`` target)."""
    try:
        ensure_venv('low')
    except CheckFailed as failure:
        say('FAILED: %s' % failure)
        return 1
    env = line_environment('low')
    env['PYTHONPATH'] = os.path.join(ROOT, 'tests', 'simulator')
    command = [venv_bin('low', 'python'), '-m', 'em_simulator', 'serve', '--tls',
               '--state-dir', os.path.join(CACHE, 'simulator'), '--cache-dir', os.path.join(CACHE, 'simulator')] + args.extra
    say('$ %s' % ' '.join(command))
    try:
        return subprocess.call(command, env=env)
    except KeyboardInterrupt:
        return 0


def command_demo(dummy_args):
    """The first experience: the simulator over HTTPS, the inventory, the modules, the role and its report."""
    report_dir = os.path.join(ROOT, 'demo-report')
    try:
        ensure_venv('low')
        prepare_tree('low')
        process, ready = start_simulator('low', ['--dataset', 'demo'])
    except CheckFailed as failure:
        say('FAILED: %s' % failure)
        return 1
    started = time.time()
    try:
        say('EM simulator (demo data set) listening on %s, CA bundle %s' % (ready['url'], ready.get('ca_path')))
        env = line_environment('low')
        env.update({
            'VEEAM_EM_URL': ready['url'], 'VEEAM_EM_CA_PATH': ready.get('ca_path', ''),
            'VEEAM_EM_USERNAME': ready['username'], 'VEEAM_EM_PASSWORD': ready['password'],
            'ANSIBLE_STDOUT_CALLBACK': 'default', 'ANSIBLE_CALLBACK_RESULT_FORMAT': 'yaml',
            'ANSIBLE_LOCALHOST_WARNING': 'false', 'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        })
        steps = [
            ('the inventory: every VM replication and CDP processed, grouped by its last result',
             [venv_bin('low', 'ansible-inventory'), '-i', os.path.join('tests', 'demo', 'demo.veeam_em.yml'), '--graph']),
            ('the info modules: what replication did in the last 24 hours',
             [venv_bin('low', 'ansible-playbook'), os.path.join('tests', 'demo', 'demo.yml')]),
            ('the compliance role: every replicated VM against a 24 h RPO, with its report',
             [venv_bin('low', 'ansible-playbook'), 'opsbox.veeam_em.compliance_report',
              '-e', 'compliance_report_dir=' + report_dir, '-e', 'compliance_fail=false']),
        ]
        for title, command in steps:
            say(title)
            returncode, dummy = run(command, env=env)
            if returncode:
                say('FAILED: %s' % ' '.join(command))
                return returncode
        stats = subprocess.check_output([venv_bin('low', 'python'), '-c', 'import json, ssl, sys, urllib.request; '
                                         'print(urllib.request.urlopen(sys.argv[1] + "/stats", '
                                         'context=ssl.create_default_context(cafile=sys.argv[2])).read().decode())',
                                         ready['admin_url'], ready.get('ca_path', '')], universal_newlines=True)
        counters = json.loads(stats)
        say('simulator counters: %d logons, %d logoffs, %d logon sessions left open'
            % (counters['logons'], counters['logoffs'], counters['open_sessions']))
        with open(os.path.join(report_dir, 'replica_compliance.json')) as handle:
            summary = json.load(handle).get('summary', {})
        say('compliance: %s of %s VMs compliant' % (summary.get('compliant'), summary.get('total')))
        say('report: %s (also .json and .md beside it)' % os.path.join(report_dir, 'replica_compliance.html'))
        say('the demo took %.0f s after set-up' % (time.time() - started))
    finally:
        stop_simulator(process)
    return 0


def main(argv=None):
    """Parse the command line and run one command."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest='command')
    sub.required = True
    for name in ('venv', 'sanity', 'units', 'integration', 'simulator-tests', 'report-browser', 'bench-smoke',
                 'reliability', 'reliability-subset'):
        one = sub.add_parser(name)
        one.add_argument('--line', choices=['low', 'new', 'all'], default='all')
    for name in ('test', 'lint', 'build', 'demo', 'docs'):
        sub.add_parser(name)
    release_check = sub.add_parser('release-check')
    release_check.add_argument('--release', action='store_true', help='for the release itself: version >= 1.0.0, released in changelogs/')
    simulator = sub.add_parser('simulator')
    simulator.add_argument('extra', nargs=argparse.REMAINDER, help='more simulator options')
    args = parser.parse_args(argv)
    checks = {
        'sanity': check_sanity, 'units': check_units, 'integration': check_integration,
        'simulator-tests': check_simulator, 'report-browser': check_report_browser, 'bench-smoke': check_bench_smoke, 'venv': lambda line, tally: None,
        'reliability-subset': check_reliability_subset,
    }
    if args.command == 'reliability':
        return command_reliability(args)
    if args.command in checks:
        return single_check(checks[args.command], args)
    if args.command == 'lint':
        return single_check(check_lint, args, per_line=False)
    if args.command == 'build':
        return single_check(check_build, args, per_line=False)
    if args.command == 'docs':
        return single_check(check_docs, args, per_line=False)
    if args.command == 'release-check':
        def build_then_release_checks(tally):
            check_build(tally)
            check_release(tally, release=args.release)
        return single_check(build_then_release_checks, args, per_line=False)
    return {'test': command_test, 'simulator': command_simulator, 'demo': command_demo}[args.command](args)


if __name__ == '__main__':
    atexit.register(remove_trees)
    sys.exit(main())
