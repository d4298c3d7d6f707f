# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The report in its three formats: the same numbers, one row per VM, every hostile name escaped."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest

from ansible.errors import AnsibleFilterError

from ansible_collections.opsbox.veeam_em.plugins.filter.compliance_evaluate import evaluate
from ansible_collections.opsbox.veeam_em.plugins.filter.compliance_report import FilterModule, compliance_report, render

NOW = "2026-11-20T12:00:00Z"
HOSTILE = ["<script>alert(1)</script>", "{{ lookup('pipe', 'id') }}", "{% if true %}tmpl{% endif %}",
           'x";Result==Success,(VmDisplayName=="y', "pipe|vm", "star*_vm_", "<img src=http://evil.example/x.png>"]


def task(uid, vm, hour, result="Success", job="Replica; prod, DR {{ env }}"):
    return {"uid": uid, "vm_name": vm, "backup_server_name": "vbr&<01>", "job_session_uid": "s",
            "job_session_name": job + "@2026-11-20 00:00:00", "creation_time": "2026-11-20T%02d:00:00Z" % hour,
            "end_time": "2026-11-20T%02d:05:00Z" % hour, "state": "Completed", "result": result,
            "reason": "<b>bad</b>" if result != "Success" else None}


@pytest.fixture
def result():
    tasks = [task(str(index), name, 10, "Failed" if index % 2 else "Success") for index, name in enumerate(HOSTILE)]
    tasks.append(task("old", "old-vm", 1))
    return evaluate({"replica": {"tasks": tasks}}, NOW, sources=["replica"], rpo_hours=6)


class Collector(HTMLParser):
    """Elements, attributes and text of a page, as a browser would parse them."""

    def __init__(self):
        HTMLParser.__init__(self)
        self.tags = []
        self.text = []
        self.ids = {}
        self._current_id = None
        self.rows = 0
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if tag == "tr" and "vm" in (attrs.get("class") or "").split():
            self.rows += 1
        self._current_id = attrs.get("id")
        self._in_title = tag == "title" and not self.title

    def handle_data(self, data):
        self.text.append(data)
        if self._current_id:
            self.ids.setdefault(self._current_id, data)
        if self._in_title:
            self.title += data

    def handle_endtag(self, tag):
        self._current_id = None
        self._in_title = False


def test_html_headline_rows_and_title(result):
    page = render(result, "html")
    parsed = Collector()
    parsed.feed(page)
    assert parsed.rows == len(result["vms"]) == 8
    assert parsed.ids["compliant"] == str(result["summary"]["compliant"]) == "4"
    assert parsed.ids["total"] == "8"
    assert parsed.ids["violations"] == "4"
    assert parsed.title == "Replica compliance: 4 of 8 VMs compliant"
    # Every hostile name comes back as text, exactly.
    text = "".join(parsed.text)
    for name in HOSTILE:
        assert name in text


def test_html_has_no_script_no_external_reference_and_a_strict_policy(result):
    page = render(result, "html")
    parsed = Collector()
    parsed.feed(page)
    names = [tag for tag, dummy in parsed.tags]
    assert "script" not in names and "img" not in names and "link" not in names and "iframe" not in names
    for dummy, attrs in parsed.tags:
        for key, value in attrs.items():
            assert not key.startswith("on")
            assert key not in ("src", "href") or not value
    assert "&lt;img src=http://evil.example/x.png&gt;" in page
    # Without a URL in the data, the page holds none at all.
    clean = [item for item in result["vms"] if "evil" not in item["vm_name"]]
    page = render(dict(result, vms=clean, worst=[]), "html")
    assert not re.search(r"(?i)(https?:)?//[a-z0-9]", page)
    assert ("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
            in page)
    assert page.count("<svg") == 2


def test_html_for_an_empty_result():
    page = render(evaluate({"replica": {"tasks": []}}, NOW, sources=["replica"]), "html")
    parsed = Collector()
    parsed.feed(page)
    assert parsed.rows == 0 and parsed.ids["total"] == "0"


def test_markdown_table_escapes_and_counts(result):
    text = render(result, "markdown", title="Nightly | check")
    lines = text.splitlines()
    assert lines[0] == "# Nightly \\| check"
    table = [line for line in lines if line.startswith("| ") and not line.startswith("| VM ")]
    assert len(table) == 8
    for line in table:
        # Eight cells: a name with a pipe must not add one.
        assert len(re.split(r"(?<!\\)\|", line)) == 10
    assert "<script>" not in text and "&lt;script&gt;" in text
    assert "{{ lookup" not in text and "\\{\\{ lookup\\('pipe', 'id'\\) \\}\\}" in text
    assert "**4 of 8 VMs compliant** (50%), 4 not compliant." in text


def test_a_running_vm_reads_running():
    tasks = [dict(task("r", "busy-01", 11), end_time=None, state="InProgress", result="None"), task("p", "busy-01", 9)]
    running = evaluate({"replica": {"tasks": tasks}}, NOW, sources=["replica"])
    assert running["vms"][0]["last_result"] == "None" and running["vms"][0]["running"] is True
    assert "<td>Running</td>" in render(running, "html")
    assert "| Running |" in render(running, "markdown")


def test_json_is_the_result(result):
    assert json.loads(render(result, "json")) == json.loads(json.dumps(result))


def test_bad_input_and_format(result):
    with pytest.raises(AnsibleFilterError, match="format must be one of"):
        render(result, "pdf")
    with pytest.raises(AnsibleFilterError, match="result of opsbox.veeam_em.compliance_evaluate"):
        render({"vms": []}, "html")


def test_the_filter_marks_the_report_unsafe(result):
    page = compliance_report(result, "markdown")
    try:
        from ansible._internal._datatag._tags import TrustedAsTemplate
    except ImportError:
        assert getattr(page, "__UNSAFE__", False) is True
    else:
        assert not TrustedAsTemplate.is_tagged_on(page)
    assert FilterModule().filters()["compliance_report"] is compliance_report


@pytest.mark.parametrize("report_format", ["json", "markdown", "html"])
def test_a_template_returns_the_report_text_unchanged(result, report_format):
    # Without jinja2_native, ansible-core < 2.19 gives a template's single result to ansible_eval_concat,
    # which read text starting with "{" back as data (ast.literal_eval): the JSON report lost its layout.
    text = compliance_report(result, report_format)
    try:
        from ansible.template.native_helpers import ansible_eval_concat
    except ImportError:  # 2.19 and later return the filter's value as it is
        templated = text
    else:
        templated = ansible_eval_concat([text])
        assert getattr(templated, "__UNSAFE__", False) is True  # still never templated again
    assert isinstance(templated, str)
    assert templated == render(result, report_format)
