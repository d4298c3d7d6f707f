# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The docs site of the collection (make docs) and the lint of its plugin docs (make test).

- ``build_docs``: antsibull-docs writes the reStructuredText of every plugin, module and role
  from their own documentation (``sphinx-init``, then ``collection``), Sphinx builds HTML into
  ``.cache/docs/build/html``. Offline: intersphinx is switched off, and the few references
  antsibull-docs makes into Ansible's own documentation resolve to one local page that links
  there (see ANSIBLE_REFERENCES), so that every other warning - about our own pages - fails
  the build (``-W``).
- ``lint_docs``: ``antsibull-docs lint-collection-docs --plugin-docs`` on the collection.

Standard library only, like ci.py; the tools live in ``.cache/docs-venv`` (Python 3.12, pinned in
tests/tools/requirements-docs.txt), ansible-doc comes from the ansible-core 2.21 venv.
"""

import argparse
import atexit
import os
import shutil
import sys

TOOLS = os.path.dirname(os.path.abspath(__file__))


def _load_ci():
    """tests/tools/ci.py as a module (the running one when ci.py is the script, see release.py)."""
    main = sys.modules.get('__main__')
    main_file = getattr(main, '__file__', None)
    if main_file and os.path.abspath(main_file) == os.path.join(TOOLS, 'ci.py'):
        return main
    if TOOLS not in sys.path:
        sys.path.insert(0, TOOLS)
    import ci  # pylint: disable=import-outside-toplevel
    return ci


ci = _load_ci()

DOCS_VENV = os.path.join(ci.CACHE, 'docs-venv')
DOCS_PYTHON = '3.12'
DOCS_REQUIREMENTS = os.path.join(TOOLS, 'requirements-docs.txt')
DOCS_DIR = os.path.join(ci.CACHE, 'docs')
COLLECTION = 'opsbox.veeam_em'

# antsibull-docs links a few targets of Ansible's own documentation (the common return values,
# the configuration settings, the environment variables of the inventory cache and of group name
# sanitising). Without intersphinx they would be warnings; this page defines them locally and
# links to docs.ansible.com, so -W can stay on for everything else.
ANSIBLE_REFERENCES = """:orphan:

Ansible's own documentation
===========================

These topics belong to Ansible itself; this offline site only points to them.

.. _common_return_values:

Common return values
--------------------

Keys every module returns: https://docs.ansible.com/ansible/latest/reference_appendices/common_return_values.html

.. _ansible_configuration_settings:

Ansible configuration settings
------------------------------

https://docs.ansible.com/ansible/latest/reference_appendices/config.html

Environment variables
---------------------

.. envvar:: ANSIBLE_TRANSFORM_INVALID_GROUP_CHARS

   How Ansible treats characters in group names that are not valid in variable names.

.. envvar:: ANSIBLE_CACHE_PLUGIN

   The cache plugin of inventory plugins that cache.

.. envvar:: ANSIBLE_CACHE_PLUGIN_CONNECTION

   Where that cache plugin stores its data.

.. envvar:: ANSIBLE_CACHE_PLUGIN_PREFIX

   Prefix of the cache plugin's keys.

.. envvar:: ANSIBLE_CACHE_PLUGIN_TIMEOUT

   Seconds a cached inventory stays valid.
"""


# Appended to the conf.py that sphinx-init writes: offline, and the site named after the collection
# rather than the generic "Ansible Collections Documentation" of a multi-collection site.
SITE_SETTINGS = '''
# opsbox.veeam_em (tests/tools/docs.py): build offline, and name the site after the collection.
intersphinx_mapping = {}
project = 'opsbox.veeam_em'
title = 'opsbox.veeam_em documentation'
html_title = 'opsbox.veeam_em documentation'
html_short_title = 'opsbox.veeam_em'
'''


def name_the_landing_page(index_path):
    """Write the collection's name as it is spelt on the landing page's heading.

    antsibull-docs title-cases the name there ("Opsbox.Veeam_Em"), which is not how anyone types it.
    """
    with open(index_path) as handle:
        lines = handle.read().split('\n')
    for number, line in enumerate(lines[:-1]):
        underline = lines[number + 1]
        if line.lower() == COLLECTION and underline and set(underline) == {'='}:
            lines[number] = COLLECTION
            break
    else:
        raise ci.CheckFailed('the landing page %s has no heading naming %s' % (index_path, COLLECTION))
    with open(index_path, 'w') as handle:
        handle.write('\n'.join(lines))


def ensure_docs_venv():
    """The venv with antsibull-docs and Sphinx (pinned); cheap when it is up to date."""
    stamp_value = '%s %s' % (DOCS_PYTHON, ci.file_digest(DOCS_REQUIREMENTS))
    stamp = os.path.join(DOCS_VENV, '.requirements-stamp')
    if os.path.exists(stamp):
        with open(stamp) as handle:
            if handle.read().strip() == stamp_value:
                return
    interpreter = ci.find_python(DOCS_PYTHON)
    ci.say('creating the docs tools environment (antsibull-docs, Sphinx) with %s' % interpreter)
    shutil.rmtree(DOCS_VENV, ignore_errors=True)
    python = os.path.join(DOCS_VENV, 'bin', 'python')
    for command in ([interpreter, '-m', 'venv', DOCS_VENV],
                    [python, '-m', 'pip', 'install', '--quiet', '--upgrade', 'pip'],
                    [python, '-m', 'pip', 'install', '--quiet', '-r', DOCS_REQUIREMENTS]):
        returncode, dummy = ci.run(command, env=ci.pip_environment())
        if returncode:
            raise ci.CheckFailed('creating the docs tools environment failed (%s)' % ' '.join(command))
    with open(stamp, 'w') as handle:
        handle.write(stamp_value + '\n')


def docs_environment():
    """PATH with the docs tools and ansible-core 2.21's ansible-doc; the collection from a fresh tree."""
    ci.ensure_venv('new')
    ensure_docs_venv()
    tree = ci.prepare_tree('new')
    env = ci.line_environment('new')
    env['PATH'] = os.path.join(DOCS_VENV, 'bin') + os.pathsep + env['PATH']
    env['ANSIBLE_COLLECTIONS_PATH'] = ci.tree_root('new')
    env['ANSIBLE_COLLECTIONS_SCAN_SYS_PATH'] = 'false'
    return env, tree


def build_docs(tally):
    """Build the HTML site into .cache/docs/build/html; any warning fails the build."""
    env, dummy = docs_environment()
    shutil.rmtree(DOCS_DIR, ignore_errors=True)
    os.makedirs(DOCS_DIR, mode=0o700)  # antsibull-docs wants its folders writable by the owner only
    tool = os.path.join(DOCS_VENV, 'bin', 'antsibull-docs')
    returncode, dummy = ci.run([tool, 'sphinx-init', '--use-current', '--squash-hierarchy', '--fail-on-error',
                                '--dest-dir', DOCS_DIR, COLLECTION], env=env)
    if returncode:
        tally.failed += 1
        raise ci.CheckFailed('antsibull-docs sphinx-init failed')
    with open(os.path.join(DOCS_DIR, 'conf.py'), 'a') as handle:
        handle.write(SITE_SETTINGS)
    rst = os.path.join(DOCS_DIR, 'rst')
    os.makedirs(rst, mode=0o755, exist_ok=True)
    os.chmod(rst, 0o755)
    returncode, dummy = ci.run([tool, '--config-file', 'antsibull-docs.cfg', 'collection', '--cleanup', 'everything',
                                '--fail-on-error', '--use-current', '--squash-hierarchy', '--dest-dir', 'rst', COLLECTION],
                               cwd=DOCS_DIR, env=env)
    if returncode:
        tally.failed += 1
        raise ci.CheckFailed('antsibull-docs could not write the plugin pages')
    with open(os.path.join(rst, 'ansible_references.rst'), 'w') as handle:
        handle.write(ANSIBLE_REFERENCES)
    name_the_landing_page(os.path.join(rst, 'index.rst'))
    returncode, dummy = ci.run([os.path.join(DOCS_VENV, 'bin', 'sphinx-build'), '-M', 'html', 'rst', 'build', '-c', '.',
                                '-W', '--keep-going', '-q'], cwd=DOCS_DIR, env=env)
    index = os.path.join(DOCS_DIR, 'build', 'html', 'index.html')
    if returncode or not os.path.exists(index):
        tally.failed += 1
        raise ci.CheckFailed('the docs site did not build without warnings (sphinx-build -W)')
    tally.passed += 1
    ci.say('docs: file://%s' % index)
    return index


def lint_docs(tally):
    """antsibull-docs lint-collection-docs on the plugins' documentation."""
    env, tree = docs_environment()
    returncode, dummy = ci.run([os.path.join(DOCS_VENV, 'bin', 'antsibull-docs'), 'lint-collection-docs',
                                '--plugin-docs', '.'], cwd=tree, env=env)
    if returncode:
        tally.failed += 1
        raise ci.CheckFailed('antsibull-docs lint-collection-docs found problems')
    tally.passed += 1


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('command', choices=['build', 'lint'])
    args = parser.parse_args(argv)
    tally = ci.Tally()
    try:
        (build_docs if args.command == 'build' else lint_docs)(tally)
    except ci.CheckFailed as failure:
        ci.say('FAILED: %s' % failure)
        print(tally.line())
        return 1
    print(tally.line())
    return 0


if __name__ == '__main__':
    atexit.register(ci.remove_trees)
    sys.exit(main())
