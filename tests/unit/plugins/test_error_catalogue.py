# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The troubleshooting catalogue (docs/docsite/rst/troubleshooting.rst) lists exactly the messages the code has.

Every error and warning text found in plugins/ and in the role's fail/assert tasks must be in the catalogue
(as a template: run-time values written ``...``), and every message in the catalogue must still be produced
by some code.  How messages are found and turned into templates: ``_error_messages``.
"""

from __future__ import annotations

import os
import textwrap

import pytest

from ansible_collections.opsbox.veeam_em.tests.unit.plugins import _error_messages as em

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
CATALOGUE = os.path.join(ROOT, "docs", "docsite", "rst", "troubleshooting.rst")

# Sites that only pass on a message built elsewhere; their text is catalogued where it is made.
# Key: (file, enclosing function or role task name).  Keep this list small: a new entry needs a reason.
DYNAMIC = {
    ("plugins/module_utils/_arguments.py", "fail_on_missing_libraries"):
        "ansible-core's missing_required_lib() text; catalogued as an example under Connection",
    ("plugins/module_utils/_errors.py", "to_fail_json_kwargs"):
        "str() of an EMError: the message of the _errors hierarchy, catalogued per message",
    ("plugins/module_utils/_info.py", "run_info_module"):
        "fail_json(**to_fail_json_kwargs(exc)) and module.warn() of the client's warnings",
    ("plugins/inventory/veeam_em.py", "_fetch"):
        "the client's warnings (could not confirm the logoff ...), catalogued under client.py",
    ("plugins/inventory/veeam_em.py", "_populate"):
        "display.warning() of the warnings _fetch collected, which carry their own text",
    ("roles/replica_compliance/tasks/main.yml", "Fail when a VM is not compliant"):
        "the message compliance_evaluate builds (N of M VMs are not compliant: ...), described in the catalogue",
}

# Messages no user meets on their own: they are caught and replaced, or guard a value checked earlier.
# Key: (file, template).
INTERNAL = {
    ("plugins/module_utils/_times.py", "not a timestamp: ..."):
        "every caller catches the ValueError and raises its own message naming the option",
    ("plugins/module_utils/_times.py", "not an ISO 8601 timestamp: ..."):
        "every caller catches the ValueError and raises its own message naming the option",
    ("plugins/module_utils/_retry.py", "retries must be at least 1 (the first attempt)"):
        "EMClient checks retries (1 to 100) before it builds the RetryPolicy",
    ("plugins/module_utils/_transport.py", "wire_format must be xml or json"):
        "EMClient checks wire_format before it builds the Transport",
}


def _catalogue_text():
    with open(CATALOGUE, encoding="utf-8") as handle:
        return handle.read()


def test_catalogue_and_code_agree():
    problems = em.compare(em.collection_sites(ROOT), em.catalogue_entries(_catalogue_text()), DYNAMIC, INTERNAL)
    assert not problems, "the error catalogue and the code disagree:\n" + "\n".join(problems)


def test_the_catalogue_covers_the_kinds_of_messages():
    # A parse that silently finds nothing would make the test above pass for an empty catalogue.
    entries = em.catalogue_entries(_catalogue_text())
    kinds = set(entry.kind for entry in entries)
    assert kinds == {"error", "warning"}
    assert sum(len(entry.templates) for entry in entries) > 100


def test_the_code_has_messages_of_every_place():
    sites = em.collection_sites(ROOT)
    places = set(site.path.split("/")[1] if site.path.startswith("plugins/") else "role" for site in sites)
    # the modules themselves only call _info.run_info_module, which holds their messages
    assert {"module_utils", "inventory", "plugin_utils", "filter", "role"} <= places
    assert any(site.kind == "warning" for site in sites)


# --- the extraction itself ---------------------------------------------------------------------------


def _templates(source, kind=None):
    sites = em.python_sites("plugins/module_utils/sample.py", textwrap.dedent(source))
    return [template for site in sites if kind is None or site.kind == kind for template in site.templates]


@pytest.mark.parametrize("source, expected", [
    ('raise EMQueryError("plain text")', ["plain text"]),
    ('raise EMQueryError("value %r of %s" % (value, name))', ["value ... of ..."]),
    ('raise ValueError("a %(x)s b %%" % {"x": value})', ["a ... b %"]),
    ('raise ValueError("{} and {name}".format(first, name=second))', ["... and ..."]),
    ('raise ValueError(f"got {value!r} items")', ["got ... items"]),
    ('raise ValueError("part one, " + "part two " + str(value))', ["part one, part two ..."]),
    ('raise ValueError("%s.%s has   no\\n value" % (kind, field))', ["... has no value"]),
    ('raise ValueError("page %d" % (index + 1))', ["page ..."]),
    ('module.fail_json(msg="failed: %s" % reason)', ["failed: ..."]),
    ('raise AnsibleParserError(message="as keyword")', ["as keyword"]),
])
def test_templates_of_literal_messages(source, expected):
    assert _templates(source) == expected


def test_module_constants_and_class_constants_are_resolved():
    source = """
        PORT = 9398
        HINT = "port %d" % PORT

        class Plugin:
            NAME = "ns.coll.plugin"

            def parse(self, exc):
                raise AnsibleError("%s: %s (%s)" % (self.NAME, exc, HINT))
    """
    assert _templates(source) == ["ns.coll.plugin: ... (port 9398)"]


def test_parameters_are_resolved_per_call_in_the_same_file():
    source = """
        def _fail(option, value, reason):
            raise EMQueryError("%s: %r %s" % (option, value, reason))

        def check(params):
            _fail("limit", params["limit"], "must be 1 or more")
            for option in params:
                _fail(option, params[option], "holds an empty value")
    """
    assert _templates(source) == ["...: ... holds an empty value", "limit: ... must be 1 or more"]


def test_method_parameters_are_resolved_through_self_calls():
    source = """
        class Walk:
            def __init__(self, describe):
                self.describe = describe

            def fail(self, text):
                raise EMProtocolError("%s: %s" % (self.describe, text))

            def check(self, number):
                self.fail("page %d has no PagingInfo" % number)
    """
    assert _templates(source) == ["...: page ... has no PagingInfo"]


def test_keyword_spreading_calls_leave_parameters_unknown():
    source = """
        def evaluate(data, mode="records"):
            raise AnsibleFilterError("mode must be one of records, hostvars, not %r" % (mode,))

        def entry(data, **options):
            return evaluate(data, **options)
    """
    assert _templates(source) == ["mode must be one of records, hostvars, not ..."]


def test_warnings_are_found_in_calls_and_in_warning_lists():
    source = """
        def run(module, display, payload, client):
            module.warn("first %s" % 1)
            display.warning("second")
            client.warnings.append("third")
            payload["warnings"].append("fourth")
            others.append("not a warning")
    """
    assert _templates(source, "warning") == ["first 1", "second", "third", "fourth"]
    assert _templates(source, "error") == []


def test_a_relayed_message_is_dynamic():
    sites = em.python_sites("plugins/module_utils/sample.py", textwrap.dedent("""
        def run(module, exc):
            module.fail_json(**kwargs(exc))
            module.fail_json(msg=str(exc))
    """))
    assert [(site.function, site.templates) for site in sites] == [("run", ["..."]), ("run", ["..."])]
    assert em.is_dynamic("...") and em.is_dynamic("...: ...") and not em.is_dynamic("url is empty")


def test_role_messages_are_jinja_templates():
    sites = em.role_sites("roles/r/tasks/main.yml", textwrap.dedent("""
        - name: Check the window
          ansible.builtin.assert:
            that: [window >= rpo]
            fail_msg: >-
              window ({{ window }}) is shorter
              than {{ rpo }} h.
        - name: Fail
          block:
            - name: Inner fail
              ansible.builtin.fail:
                msg: "{{ result.message }}"
        - name: Not a message
          ansible.builtin.debug:
            msg: "{{ anything }}"
    """))
    assert [(site.line, site.function, site.templates) for site in sites] == [
        (2, "Check the window", ["window (...) is shorter than ... h."]),
        (10, "Inner fail", ["..."]),
    ]


# --- the catalogue parse and the comparison ----------------------------------------------------------

_SAMPLE_CATALOGUE = """
Title
=====

.. code-block:: text
   :caption: Error message

   url is empty
   url ... is not an http(s) URL

:Where: ``_session.py``
:Cause: no url.
:Fix: set url
  (VEEAM_EM_URL).

.. code-block:: text
   :caption: Example

   url is empty; Enterprise Manager says: whatever

.. code-block:: text
   :caption: Warning message

   could not confirm the logoff

:Where: ``client.py``
:Cause: a cause.
:Fix: a fix.
"""


def test_catalogue_entries_are_parsed_with_their_fields():
    entries = em.catalogue_entries(_SAMPLE_CATALOGUE)
    assert [(entry.line, entry.kind, entry.templates) for entry in entries] == [
        (5, "error", ["url is empty", "url ... is not an http(s) URL"]),
        (21, "warning", ["could not confirm the logoff"]),
    ]
    assert entries[0].fields == {"Where": "``_session.py``", "Cause": "no url.", "Fix": "set url (VEEAM_EM_URL)."}


def _site(path, line, kind, template, function="f"):
    return em.Site(path, line, kind, [template], function)


def test_compare_names_what_is_missing_stale_misplaced_or_unlisted():
    entries = em.catalogue_entries(_SAMPLE_CATALOGUE)
    sites = [
        _site("plugins/module_utils/_session.py", 41, "error", "url is empty"),
        _site("plugins/module_utils/client.py", 80, "error", "url ... is not an http(s) URL"),
        _site("plugins/module_utils/client.py", 106, "error", "could not confirm the logoff"),
        _site("plugins/module_utils/_new.py", 7, "error", "a brand new message ..."),
        _site("plugins/module_utils/_info.py", 509, "error", "...", "run_info_module"),
        _site("plugins/module_utils/_times.py", 85, "error", "not a timestamp: ..."),
    ]
    problems = em.compare(sites, entries, {("plugins/x.py", "gone"): "why"},
                          {("plugins/module_utils/_times.py", "not a timestamp: ..."): "why"})
    assert problems == [
        "troubleshooting.rst:5: the Where field of 'url ... is not an http(s) URL' does not name client.py, which "
        "produces it (plugins/module_utils/client.py:80)",
        "plugins/module_utils/client.py:106: the error message 'could not confirm the logoff' is missing from the "
        "catalogue",
        "plugins/module_utils/_new.py:7: the error message 'a brand new message ...' is missing from the catalogue",
        "plugins/module_utils/_info.py:509 (in run_info_module) builds its error message from run-time values only "
        "('...'): add it to the DYNAMIC allow-list if it relays a message catalogued elsewhere, or give it text",
        "troubleshooting.rst:21 lists the warning message 'could not confirm the logoff', which no code produces "
        "any more",
        "the DYNAMIC allow-list names plugins/x.py (gone), which relays no message any more",
    ]


def test_compare_reports_duplicates_and_missing_fields():
    text = _SAMPLE_CATALOGUE + """
.. code-block:: text
   :caption: Error message

   url is empty

:Where: ``_session.py``
"""
    entries = em.catalogue_entries(text)
    problems = em.compare([_site("plugins/module_utils/_session.py", 41, "error", "url is empty")], entries, {}, {})
    assert "troubleshooting.rst:30 lists the error message 'url is empty' again (first at line 5)" in problems
    assert "troubleshooting.rst:30: the entry has no Cause field" in problems
    assert "troubleshooting.rst:30: the entry has no Fix field" in problems
