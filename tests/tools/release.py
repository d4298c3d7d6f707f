# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Release checks of the built artifact, run by tests/tools/ci.py after ``check_build``.

- ``check_galaxy_importer``: galaxy-importer, the checks Galaxy runs on an upload (metadata, file
  manifest, ansible-doc of every plugin, ansible-lint, changelog, ``requires_ansible``), on the
  tarball, without a container engine and without network; every warning it prints is a failure.
- ``check_fresh_install``: the tarball alone in brand-new virtual environments that hold nothing
  but ansible-core and the published ``requirements.txt`` (once at the lowest versions they
  allow), driven from a folder outside the checkout against the EM simulator: one module, the
  inventory plugin, and no logon session left open.
- ``check_execution_environment``: ansible-builder. ``introspect`` on the installed artifact must
  find our Python and system requirements (the step an image build runs on every collection),
  and ``create`` must turn the documented definition (docs/awx/execution-environment.yml,
  version 3) into a build context that installs ``opsbox.veeam_em``.
- ``check_release_notes`` (``--release`` only): galaxy.yml's version is the newest release of
  changelogs/changelog.yaml, no fragment waits for a release and CHANGELOG.rst has its section.

``python3 tests/tools/release.py`` builds the artifact first (``ci.check_build``) and then runs the
checks; ``--only NAME`` narrows them; ``--release`` adds the release-notes check and makes
galaxy-importer insist on a version of at least 1.0.0. Standard library only, like ci.py.
"""

import argparse
import atexit
import glob
import json
import os
import re
import shutil
import ssl
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.request

TOOLS = os.path.dirname(os.path.abspath(__file__))


def _load_ci():
    """tests/tools/ci.py as a module.

    When ci.py runs as a script it is ``__main__``; importing it again by name would make a
    second copy whose ``CheckFailed`` the running script does not catch, so use that one.
    """
    main = sys.modules.get('__main__')
    main_file = getattr(main, '__file__', None)
    if main_file and os.path.abspath(main_file) == os.path.join(TOOLS, 'ci.py'):
        return main
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    import ci  # pylint: disable=import-outside-toplevel
    return ci


ci = _load_ci()

ROOT = ci.ROOT
CACHE = ci.CACHE
RELEASE_REQUIREMENTS = os.path.join(TOOLS, 'requirements-release.txt')
RELEASE_VENV = os.path.join(CACHE, 'release-venv')
# galaxy-importer and ansible-builder support Python 3.12; it is also the newest line's Python.
RELEASE_PYTHON = '3.12'
EE_DEFINITION = os.path.join('docs', 'awx', 'execution-environment.yml')
COLLECTION = 'opsbox.veeam_em'

# The brand-new environments of check_fresh_install. "floor" installs the lowest versions the
# published requirements allow ('name>=X' becomes 'name==X') beside the lowest ansible-core
# meta/runtime.yml accepts, so that the lower bounds we publish are tested, not assumed.
FRESH_INSTALLS = (
    {'label': 'ansible-core 2.16 (newest patch) on Python 3.12, newest requirements',
     'python': '3.12', 'core': 'ansible-core>=2.16.0,<2.17', 'floor': False},
    {'label': 'ansible-core 2.16.0 on Python 3.11, lowest versions requirements.txt allows',
     'python': '3.11', 'core': 'ansible-core==2.16.0', 'floor': True},
)

# galaxy-importer settings: its ansible-test run needs a container engine (or network for its
# local mode) and stays off; everything else Galaxy checks stays on, plus the stricter checks
# Automation Hub applies (flake8, a tag from its list).
IMPORTER_SETTINGS = (
    ('log_level_main', 'INFO'),
    ('run_ansible_test', 'False'),
    ('ansible_test_local_image', 'False'),
    ('local_image_docker', 'False'),
    ('run_ansible_doc', 'True'),
    ('run_ansible_lint', 'True'),
    ('offline_ansible_lint', 'True'),
    ('check_changelog', 'True'),
    ('check_required_tags', 'True'),
    ('run_flake8', 'True'),
)
# Lines galaxy-importer prints for a problem it found (its log format is "LEVEL: message").
IMPORTER_PROBLEM = re.compile(r'^(WARNING|ERROR|CRITICAL): ', flags=re.MULTILINE)
IMPORTER_SUCCESS = 'Importer processing completed successfully'
# Warnings that are not about a problem, each with the reason:
# - flake8 W503/W504 (line break before / after a binary operator): galaxy-importer runs flake8
#   with "--select E,F,W", which switches on the two checks pycodestyle leaves off by default
#   because they contradict each other (every wrapped expression triggers one of them); PEP 8
#   itself recommends breaking before the operator, as our code does.
IMPORTER_SPURIOUS = re.compile(r'^WARNING: \S+\.py:\d+:\d+: W50[34] ')

CheckFailed = ci.CheckFailed
say = ci.say
run = ci.run


# ---------------------------------------------------------------------------- helpers

def timed(name):
    """Decorator: say how long a check took (the figure make test's budget is planned with)."""
    def decorate(function):
        def wrapper(*args, **kwargs):
            started = time.time()
            try:
                return function(*args, **kwargs)
            finally:
                say('release: %s took %.1f s' % (name, time.time() - started))
        wrapper.__name__ = function.__name__
        wrapper.__doc__ = function.__doc__
        return wrapper
    return decorate


def failed(tally, message):
    """Count one failure and stop the run with ``message``."""
    tally.failed += 1
    raise CheckFailed(message)


def ensure_release_venv():
    """The venv with galaxy-importer and ansible-builder (pinned); cheap when it is up to date."""
    stamp_value = '%s %s' % (RELEASE_PYTHON, ci.file_digest(RELEASE_REQUIREMENTS))
    stamp = os.path.join(RELEASE_VENV, '.requirements-stamp')
    if os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read().strip() == stamp_value:
                return RELEASE_VENV
    interpreter = ci.find_python(RELEASE_PYTHON)
    say('creating the release tools environment (galaxy-importer, ansible-builder) with %s' % interpreter)
    shutil.rmtree(RELEASE_VENV, ignore_errors=True)
    python = os.path.join(RELEASE_VENV, 'bin', 'python')
    for command in ([interpreter, '-m', 'venv', RELEASE_VENV],
                    [python, '-m', 'pip', 'install', '--quiet', '--upgrade', 'pip'],
                    [python, '-m', 'pip', 'install', '--quiet', '-r', RELEASE_REQUIREMENTS]):
        returncode, dummy = run(command, env=ci.pip_environment())
        if returncode:
            raise CheckFailed('creating the release tools environment failed (%s)' % ' '.join(command))
    with open(stamp, 'w') as handle:
        handle.write(stamp_value + '\n')
    return RELEASE_VENV


def release_bin(name):
    """Path of an executable in the release tools' venv."""
    return os.path.join(RELEASE_VENV, 'bin', name)


def release_environment(collections_path=None):
    """Environment for the release tools: their venv first on PATH (galaxy-importer calls ansible-lint by name)."""
    env = ci.pip_environment()
    for name in ('PYTHONPATH', 'ANSIBLE_CONFIG', 'ANSIBLE_COLLECTIONS_PATH', 'ANSIBLE_COLLECTIONS_PATHS'):
        env.pop(name, None)
    env['PATH'] = os.path.join(RELEASE_VENV, 'bin') + os.pathsep + env.get('PATH', '')
    env['VIRTUAL_ENV'] = RELEASE_VENV
    env['ANSIBLE_NOCOLOR'] = '1'
    if collections_path:
        env['ANSIBLE_COLLECTIONS_PATH'] = collections_path
    return env


def find_artifact():
    """The tarball check_build left in .cache/dist/ (exactly one)."""
    found = sorted(glob.glob(os.path.join(CACHE, 'dist', '*.tar.gz')))
    if len(found) != 1:
        raise CheckFailed('expected one built artifact in %s, found %d: run "make build" (or release.py without --only) first'
                          % (os.path.join(CACHE, 'dist'), len(found)))
    return found[0]


def scratch_dir(name):
    """A fresh folder for one check under .cache/release/, removed when the run ends."""
    path = os.path.join(CACHE, 'release', '%s-%d' % (name, os.getpid()))
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path)
    atexit.register(shutil.rmtree, path, True)
    return path


def artifact_member(artifact, name):
    """The text of one file of the artifact (``requirements.txt``), or None when it is not there."""
    with tarfile.open(artifact) as archive:
        try:
            member = archive.extractfile(name)
        except KeyError:
            return None
        return member.read().decode('utf-8') if member else None


def requirement_lines(text):
    """The requirement lines of a requirements.txt text (no comments, no blanks)."""
    lines = []
    for line in text.splitlines():
        line = line.split('#', 1)[0].strip()
        if line:
            lines.append(line)
    return lines


def requirement_name(line):
    """The distribution name of a requirement line: 'requests>=2.25' -> 'requests'."""
    return re.split(r'[\s<>=!~;\[]', line, maxsplit=1)[0]


def floor_requirements(lines):
    """Every 'name>=X' pinned to 'name==X'; a line without a lower bound cannot be tested at its floor."""
    pinned = []
    for line in lines:
        match = re.match(r'^([A-Za-z0-9._-]+)\s*>=\s*([^,;\s]+)', line)
        if not match:
            raise CheckFailed('requirements.txt line %r has no lower bound (name>=X); publish one' % line)
        pinned.append('%s==%s' % match.groups())
    return pinned


def collection_version():
    """galaxy.yml's version (a plain 'version: X' line; galaxy.yml is not parsed further here)."""
    with open(os.path.join(ROOT, 'galaxy.yml')) as handle:
        match = re.search(r'^version:\s*["\']?([^"\'\s]+)', handle.read(), flags=re.MULTILINE)
    if not match:
        raise CheckFailed('galaxy.yml has no version line')
    return match.group(1)


def load_yaml(path):
    """Parse a YAML file with the release venv's PyYAML (this file stays standard-library only)."""
    output = subprocess.check_output(
        [release_bin('python'), '-c', 'import json, sys, yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))', path],
        universal_newlines=True)
    return json.loads(output)


# ---------------------------------------------------------------------------- galaxy-importer

def importer_problems(output):
    """The WARNING/ERROR lines of galaxy-importer's output, less the spurious ones (IMPORTER_SPURIOUS)."""
    return [line for line in output.splitlines() if IMPORTER_PROBLEM.match(line) and not IMPORTER_SPURIOUS.match(line)]


def write_importer_config(path, work, release):
    """The galaxy-importer.cfg this check runs with (GALAXY_IMPORTER_CONFIG points at it)."""
    settings = list(IMPORTER_SETTINGS) + [
        ('require_v1_or_greater', 'True' if release else 'False'),
        ('tmp_root_dir', work),
        ('ansible_local_tmp', os.path.join(work, 'ansible-tmp')),
    ]
    with open(path, 'w') as handle:
        handle.write('[galaxy-importer]\n')
        for key, value in settings:
            handle.write('%s = %s\n' % (key, value))


@timed('galaxy-importer')
def check_galaxy_importer(tally, release=False):
    """galaxy-importer on the built tarball: it must succeed and print no warning or error."""
    ensure_release_venv()
    artifact = find_artifact()
    work = scratch_dir('importer')
    config = os.path.join(work, 'galaxy-importer.cfg')
    write_importer_config(config, work, release)
    env = release_environment()
    env['GALAXY_IMPORTER_CONFIG'] = config
    env['HOME'] = work  # ansible-lint and ansible-doc caches stay in the scratch folder
    # It writes importer_result.json into its working folder: the scratch one.
    returncode, output = run([release_bin('python'), '-m', 'galaxy_importer.main', artifact], cwd=work, env=env, capture=True)
    problems = importer_problems(output)
    if returncode or IMPORTER_SUCCESS not in output:
        failed(tally, 'galaxy-importer rejected %s (exit code %d)' % (os.path.basename(artifact), returncode))
    if problems:
        failed(tally, 'galaxy-importer reported %d problem(s) with %s: %s'
               % (len(problems), os.path.basename(artifact), ' | '.join(problems[:5])))
    with open(os.path.join(work, 'importer_result.json')) as handle:
        result = json.load(handle)
    contents = sorted('%s %s' % (item['content_type'], item['name']) for item in result.get('contents', []))
    say('galaxy-importer: %d content items (%s), requires_ansible %s, no warnings'
        % (len(contents), ', '.join(contents), result.get('requires_ansible')))
    tally.passed += 1


# ---------------------------------------------------------------------------- fresh install

def fresh_environment(scratch, venv, ready):
    """The whole environment of a user's shell: the fresh venv, a fresh HOME, only our collection, the EM connection."""
    return {
        'PATH': os.path.join(venv, 'bin') + os.pathsep + '/usr/local/bin:/usr/bin:/bin',
        'HOME': os.path.join(scratch, 'home'),
        'LANG': 'C.UTF-8',
        'LC_ALL': 'C.UTF-8',
        'VIRTUAL_ENV': venv,
        'ANSIBLE_COLLECTIONS_PATH': os.path.join(scratch, 'collections'),
        # Only the collection installed from the tarball: not one in site-packages or ~/.ansible.
        'ANSIBLE_COLLECTIONS_SCAN_SYS_PATH': 'false',
        'ANSIBLE_LOCAL_TEMP': os.path.join(scratch, 'home', 'tmp'),
        'ANSIBLE_NOCOLOR': '1',
        'ANSIBLE_LOCALHOST_WARNING': 'false',
        'ANSIBLE_INVENTORY_UNPARSED_WARNING': 'false',
        'ANSIBLE_PYTHON_INTERPRETER': os.path.join(venv, 'bin', 'python'),
        'VEEAM_EM_URL': ready['url'],
        'VEEAM_EM_USERNAME': ready['username'],
        'VEEAM_EM_PASSWORD': ready['password'],
        'VEEAM_EM_CA_PATH': ready['ca_path'],
    }


SMOKE_PLAYBOOK = """\
---
- name: The collection installed from its tarball, against the EM simulator
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Replica task sessions over XML (the default wire format)
      opsbox.veeam_em.task_session_info:
        session_type: replica
        created_after: 7d
      register: xml_answer

    - name: The same over JSON
      opsbox.veeam_em.task_session_info:
        session_type: replica
        created_after: 7d
        wire_format: json
      register: json_answer

    - name: Both answers hold the same sessions
      ansible.builtin.assert:
        that:
          - xml_answer.task_sessions | length > 0
          - xml_answer.task_sessions | map(attribute='uid') | sort == json_answer.task_sessions | map(attribute='uid') | sort

    - name: Say how many
      ansible.builtin.debug:
        msg: "fresh-install: {{ xml_answer.task_sessions | length }} replica task sessions"
"""

SMOKE_INVENTORY = """\
---
plugin: opsbox.veeam_em.veeam_em
lookback: 7d
"""


def graph_hosts(graph):
    """Host names in ``ansible-inventory --graph`` output: '  |  |--name' lines (groups are '|--@name')."""
    hosts = set()
    for line in graph.splitlines():
        match = re.search(r'\|--(.+)$', line)
        if match and not match.group(1).startswith('@'):
            hosts.add(match.group(1))
    return hosts


def simulator_stats(ready):
    """The simulator's /admin/stats counters."""
    context = ssl.create_default_context(cafile=ready['ca_path'])
    with urllib.request.urlopen(ready['admin_url'] + '/stats', context=context, timeout=30) as answer:
        return json.loads(answer.read().decode('utf-8'))


def create_fresh_venv(spec, venv, requirements_file):
    """A brand-new venv with only ansible-core and the published requirements; returns `pip freeze`."""
    interpreter = ci.find_python(spec['python'])
    python = os.path.join(venv, 'bin', 'python')
    for command in ([interpreter, '-m', 'venv', venv],
                    [python, '-m', 'pip', 'install', '--quiet', spec['core'], '-r', requirements_file]):
        returncode, dummy = run(command, env=ci.pip_environment())
        if returncode:
            raise CheckFailed('creating the fresh environment (%s) failed: %s' % (spec['label'], ' '.join(command)))
    return subprocess.check_output([python, '-m', 'pip', 'freeze', '--all'], universal_newlines=True,
                                   env=ci.pip_environment())


def fresh_install_one(spec, artifact, requirements, ready, tally):
    """One brand-new environment: install, run a module and the inventory, check the sessions closed."""
    scratch = tempfile.mkdtemp(prefix='veeam-em-fresh-')  # outside the checkout on purpose
    atexit.register(shutil.rmtree, scratch, True)
    venv = os.path.join(scratch, 'venv')
    work = os.path.join(scratch, 'work')
    for path in (work, os.path.join(scratch, 'home', 'tmp')):
        os.makedirs(path)
    requirements_file = os.path.join(scratch, 'requirements.txt')
    with open(requirements_file, 'w') as handle:
        handle.write('\n'.join(floor_requirements(requirements) if spec['floor'] else requirements) + '\n')
    say('fresh install: %s' % spec['label'])
    started = time.time()
    freeze = create_fresh_venv(spec, venv, requirements_file)
    say('fresh install: the venv holds %s (%.0f s to create)'
        % (', '.join(line for line in freeze.split() if requirement_name(line).lower() in
                     ['ansible-core'] + [requirement_name(item).lower() for item in requirements]), time.time() - started))
    env = fresh_environment(scratch, venv, ready)
    returncode, dummy = run([os.path.join(venv, 'bin', 'ansible-galaxy'), 'collection', 'install', '-p',
                             env['ANSIBLE_COLLECTIONS_PATH'], artifact], cwd=work, env=env)
    if returncode:
        failed(tally, 'ansible-galaxy collection install of the tarball failed (%s)' % spec['label'])
    with open(os.path.join(work, 'smoke.yml'), 'w') as handle:
        handle.write(SMOKE_PLAYBOOK)
    with open(os.path.join(work, 'em.veeam_em.yml'), 'w') as handle:
        handle.write(SMOKE_INVENTORY)
    before = simulator_stats(ready)
    returncode, output = run([os.path.join(venv, 'bin', 'ansible-playbook'), 'smoke.yml'], cwd=work, env=env, capture=True)
    found = re.search(r'fresh-install: (\d+) replica task sessions', output)
    if returncode or not found:
        failed(tally, 'the module task_session_info did not work from the installed tarball (%s)' % spec['label'])
    tally.passed += 1
    returncode, graph = run([os.path.join(venv, 'bin', 'ansible-inventory'), '-i', 'em.veeam_em.yml', '--graph'],
                            cwd=work, env=env, capture=True)
    hosts = graph_hosts(graph)
    if returncode or not hosts:
        failed(tally, 'the inventory plugin returned no hosts from the installed tarball (%s)' % spec['label'])
    tally.passed += 1
    after = simulator_stats(ready)
    logons = after['logons'] - before['logons']
    logoffs = after['logoffs'] - before['logoffs']
    if after['open_sessions'] or not logons or logons != logoffs:
        failed(tally, 'logon sessions were left open (%s): %d logons, %d logoffs, %d open'
               % (spec['label'], logons, logoffs, after['open_sessions']))
    tally.passed += 1
    say('fresh install OK (%s): %s task sessions, %d inventory hosts, %d logons = %d logoffs, 0 open, %.0f s'
        % (spec['label'], found.group(1), len(hosts), logons, logoffs, time.time() - started))


@timed('fresh install')
def check_fresh_install(tally):
    """The tarball alone in brand-new venvs with only ansible-core and the published requirements."""
    artifact = find_artifact()
    text = artifact_member(artifact, 'requirements.txt')
    if text is None:
        failed(tally, 'the artifact has no requirements.txt at its root: users cannot see what to install')
    requirements = requirement_lines(text)
    if not requirements:
        failed(tally, 'the requirements.txt of the artifact lists nothing')
    ci.ensure_venv('low')  # the simulator runs in the lowest line's venv (it has cryptography for TLS)
    process, ready = ci.start_simulator('low', ['--dataset', 'tiny'])
    try:
        for spec in FRESH_INSTALLS:
            fresh_install_one(spec, artifact, requirements, ready, tally)
    finally:
        ci.stop_simulator(process)


# ---------------------------------------------------------------------------- ansible-builder

def introspected(output):
    """Requirement lines ansible-builder introspect attributes to our collection."""
    return [line for line in output.splitlines() if 'from collection %s' % COLLECTION in line]


@timed('execution environment')
def check_execution_environment(tally):
    """ansible-builder: introspect finds our requirements in the artifact; create builds a context from our definition."""
    ensure_release_venv()
    artifact = find_artifact()
    work = scratch_dir('ee')
    collections = os.path.join(work, 'collections')
    env = release_environment(collections)
    env['HOME'] = work
    returncode, dummy = run([release_bin('ansible-galaxy'), 'collection', 'install', '-p', collections, artifact], env=env)
    if returncode:
        failed(tally, 'installing the artifact for ansible-builder failed')
    # The step of an image build that collects what every installed collection needs.
    returncode, output = run([release_bin('ansible-builder'), 'introspect', '--sanitize', collections], env=env, capture=True)
    ours = introspected(output)
    wanted = [requirement_name(line) for line in requirement_lines(artifact_member(artifact, 'requirements.txt') or '')]
    wanted.append('ca-certificates')
    missing = [name for name in wanted if not any(line.lstrip("- '\"").startswith(name) for line in ours)]
    if returncode or not wanted or missing:
        failed(tally, 'ansible-builder introspect did not find %s in the artifact (it found: %s)'
               % (', '.join(missing) or 'requirements', '; '.join(ours) or 'nothing'))
    tally.passed += 1
    definition_path = os.path.join(ROOT, EE_DEFINITION)
    if not os.path.exists(definition_path):
        failed(tally, '%s is missing: the execution environment users are told to build' % EE_DEFINITION)
    definition = load_yaml(definition_path)
    names = [item.get('name') if isinstance(item, dict) else item
             for item in ((definition.get('dependencies') or {}).get('galaxy') or {}).get('collections', [])]
    if definition.get('version') != 3 or COLLECTION not in names:
        failed(tally, '%s must be an ansible-builder version 3 definition whose dependencies.galaxy.collections names %s '
               '(version %r, collections %r)' % (EE_DEFINITION, COLLECTION, definition.get('version'), names))
    context = os.path.join(work, 'context')
    # Without a container engine ansible-builder would name the file Dockerfile: name it outright.
    returncode, dummy = run([release_bin('ansible-builder'), 'create', '-f', definition_path, '--context', context,
                             '--output-filename', 'Containerfile'], env=env)
    if returncode:
        failed(tally, 'ansible-builder create failed on %s' % EE_DEFINITION)
    containerfile = os.path.join(context, 'Containerfile')
    galaxy_requirements = os.path.join(context, '_build', 'requirements.yml')
    if not os.path.exists(containerfile) or not os.path.exists(galaxy_requirements):
        failed(tally, 'ansible-builder create left no Containerfile or _build/requirements.yml in %s' % context)
    with open(containerfile) as handle:
        instructions = handle.read()
    built_names = [item.get('name') for item in (load_yaml(galaxy_requirements) or {}).get('collections', [])]
    if COLLECTION not in built_names or 'introspect' not in instructions or 'ansible-galaxy collection install' not in instructions:
        failed(tally, 'the build context of %s does not install %s and introspect its requirements' % (EE_DEFINITION, COLLECTION))
    tally.passed += 1
    say('execution environment: introspect found %s; create wrote a context that installs %s'
        % ('; '.join(line.strip() for line in ours), COLLECTION))


# ---------------------------------------------------------------------------- release notes

def check_release_notes(tally):
    """For the release itself: galaxy.yml's version is released in changelogs/ and CHANGELOG.rst."""
    ensure_release_venv()
    version = collection_version()
    changelog = load_yaml(os.path.join(ROOT, 'changelogs', 'changelog.yaml')) or {}
    releases = changelog.get('releases') or {}
    waiting = [name for name in os.listdir(os.path.join(ROOT, 'changelogs', 'fragments')) if name.endswith(('.yml', '.yaml'))]
    problems = []
    if version not in releases:
        problems.append('changelogs/changelog.yaml has no release %s (run antsibull-changelog release)' % version)
    if waiting:
        problems.append('fragments not in any release: %s' % ', '.join(sorted(waiting)))
    rst_path = os.path.join(ROOT, 'CHANGELOG.rst')
    if not os.path.exists(rst_path):
        problems.append('CHANGELOG.rst is missing')
    else:
        with open(rst_path) as handle:
            if not re.search(r'^v%s\n=+$' % re.escape(version), handle.read(), flags=re.MULTILINE):
                problems.append('CHANGELOG.rst has no section v%s' % version)
    if problems:
        failed(tally, 'release %s is not complete: %s' % (version, '; '.join(problems)))
    tally.passed += 1


# ---------------------------------------------------------------------------- command line

CHECKS = {
    'galaxy-importer': check_galaxy_importer,
    'fresh-install': check_fresh_install,
    'execution-environment': check_execution_environment,
}


def run_checks(tally, release=False, only=None):
    """The release checks in order (the artifact must have been built); raises CheckFailed."""
    if release:
        check_release_notes(tally)
    for name, function in CHECKS.items():
        if only and name not in only:
            continue
        if function is check_galaxy_importer:
            function(tally, release=release)
        else:
            function(tally)


def main(argv=None):
    """Build the artifact (ci.check_build), then run the release checks; ends with the summary line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--only', action='append', choices=sorted(CHECKS), help='run only this check (repeatable)')
    parser.add_argument('--release', action='store_true',
                        help='checks for the release itself: version >= 1.0.0 and released in changelogs/')
    parser.add_argument('--no-build', action='store_true', help='use the artifact already in .cache/dist/')
    args = parser.parse_args(argv)
    atexit.register(ci.remove_trees)
    tally = ci.Tally()
    started = time.time()
    try:
        ci.ensure_venv('new')
        if not args.no_build:
            ci.check_build(tally)
        run_checks(tally, release=args.release, only=args.only)
    except CheckFailed as failure:
        if not tally.failed:
            tally.failed = 1
        say('FAILED: %s' % failure)
        say('release checks took %.0f s' % (time.time() - started))
        print(tally.line())
        return 1
    say('release checks took %.0f s' % (time.time() - started))
    print(tally.line())
    return 0


if __name__ == '__main__':
    sys.exit(main())
