# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: compliance_report
short_description: Render compliance verdicts as a self-contained HTML page, Markdown or JSON
version_added: 1.0.0
author:
  - opsbox.veeam_em contributors (@opsbox)
description:
  - Renders what P(opsbox.veeam_em.compliance_evaluate#filter) returned.
  - V(html) is one self-contained page (no script, no external fetch; a Content-Security-Policy forbids both) with a
    headline (compliant / total, worst offenders), inline SVG charts of the reasons and of the last-success age per
    VM against its RPO, and a table of every VM. It prints on paper as it shows on screen.
  - V(markdown) is the headline and the table for tickets and chat; V(json) is the verdicts themselves.
  - Every name from Enterprise Manager is escaped for the output format; nothing in it is ever templated.
positional: _input, format
options:
  _input:
    description: The result of P(opsbox.veeam_em.compliance_evaluate#filter).
    type: dict
    required: true
  format:
    description: The output format.
    type: str
    choices: [html, markdown, json]
    default: html
  title:
    description: Title of the report.
    type: str
    default: Replica compliance
"""

EXAMPLES = r"""
- name: Write the report as HTML
  ansible.builtin.copy:
    content: "{{ verdicts | opsbox.veeam_em.compliance_report('html') }}"
    dest: /var/reports/replica_compliance.html
    mode: "0644"
"""

RETURN = r"""
_value:
  description: The report text.
  type: str
"""

import json
from collections.abc import Mapping
from html import escape

from ansible.errors import AnsibleFilterError
from ansible.utils.unsafe_proxy import AnsibleUnsafeText, wrap_var

try:  # ansible-core < 2.19
    from ansible.utils.native_jinja import NativeJinjaText
except ImportError:  # 2.19 and later: templating returns a filter's text as it is
    _report_text = wrap_var
else:
    class _ReportText(AnsibleUnsafeText, NativeJinjaText):
        """Unsafe report text that ansible-core < 2.19 returns from a template unchanged.

        Without jinja2_native, those versions turn a template's text result that starts with ``{`` or
        ``[`` back into data with ``ast.literal_eval``: the JSON report became a dict, which
        ``copy`` wrote out again as one line without the indentation and key order rendered
        here, after seconds of parsing for a few thousand VMs.  ``NativeJinjaText`` is the type
        that templating leaves alone; ``AnsibleUnsafeText`` keeps the text from being templated.
        """

    _report_text = _ReportText

FORMATS = ("html", "markdown", "json")
REASON_ORDER = ("running_past_rpo", "failed", "warning", "never_succeeded", "stale")
REASON_LABEL = {
    "running_past_rpo": "Running past RPO",
    "failed": "Failed",
    "warning": "Warning",
    "never_succeeded": "Never succeeded",
    "stale": "Stale",
}
COLOURS = {
    "compliant": "#2e7d32",
    "running_past_rpo": "#6a1b9a",
    "failed": "#c62828",
    "warning": "#ef8f00",
    "never_succeeded": "#37474f",
    "stale": "#1565c0",
}


def _h(value):
    """Text escaped for HTML element content and quoted attribute values."""
    return escape("" if value is None else str(value), quote=True)


def _age(hours):
    if hours is None:
        return "never"
    if hours >= 48:
        return "%.1f d" % (hours / 24.0)
    return "%.1f h" % hours


def _when(stamp):
    """``2026-11-21 18:46 UTC`` from a fact time: short enough for a table cell, the JSON keeps the full value."""
    if not stamp:
        return None
    text = str(stamp)
    return "%s %s UTC" % (text[:10], text[11:16]) if len(text) >= 16 else text


def _last(row):
    """The last result as a person reads it: a run still going says so instead of EM's ``None``."""
    return "Running" if row.get("running") else row.get("last_result")


def _check(result):
    if not isinstance(result, Mapping) or "vms" not in result or "summary" not in result:
        raise AnsibleFilterError("compliance_report: the input must be the result of opsbox.veeam_em.compliance_evaluate")


def headline(result):
    """The numbers every format shows first."""
    summary = result["summary"]
    return {"compliant": summary["compliant"], "total": summary["total"], "violations": summary["violations"],
            "percent": summary["compliant_percent"]}


# ------------------------------------------------------------------------------------------ HTML

CSS = """
:root { --ok: #2e7d32; --bad: #c62828; --ink: #1f2933; --muted: #52606d; --line: #d9e2ec; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
       color: var(--ink); margin: 0 auto; padding: 24px; max-width: 1280px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 28px 0 8px; }
.meta { color: var(--muted); margin: 0 0 16px; }
.cards { display: flex; gap: 12px; flex-wrap: wrap; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; min-width: 170px; }
.card .big { font-size: 30px; font-weight: 700; }
.card.good .big { color: var(--ok); } .card.bad .big { color: var(--bad); }
.worst { margin: 12px 0 0; padding-left: 20px; }
.charts { display: grid; grid-template-columns: minmax(260px, 1fr) minmax(360px, 2fr); gap: 24px; align-items: start; }
svg text { font: 11px system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; fill: var(--ink); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f5f7fa; position: sticky; top: 0; }
td.num { text-align: right; white-space: nowrap; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; color: #fff; font-size: 12px; white-space: nowrap; }
.wrap { word-break: break-word; } .nowrap { white-space: nowrap; }
@media (max-width: 900px) { .charts { grid-template-columns: 1fr; } }
@media print { body { padding: 0; max-width: none; } th { position: static; } tr { break-inside: avoid; }
               .charts { grid-template-columns: 1fr 2fr; } }
"""


def _badge(row):
    key = row["reason"] or "compliant"
    label = REASON_LABEL.get(row["reason"], "Compliant")
    return '<span class="badge" style="background:%s">%s</span>' % (COLOURS.get(key, "#555"), _h(label))


def reason_chart(result):
    """Horizontal bars: compliant VMs and violating VMs per primary reason."""
    counts = [("compliant", "Compliant", result["summary"]["compliant"])]
    by_reason = result["summary"]["by_reason"]
    counts += [(reason, REASON_LABEL[reason], by_reason.get(reason, 0)) for reason in REASON_ORDER]
    top = max([count for dummy, dummy2, count in counts] + [1])
    width, label_w, bar_h, gap = 360, 120, 22, 8
    height = len(counts) * (bar_h + gap) + 10
    parts = ['<svg role="img" aria-label="VMs per verdict" width="%d" height="%d" viewBox="0 0 %d %d">'
             % (width, height, width, height), "<title>VMs per verdict</title>"]
    for index, (key, label, count) in enumerate(counts):
        y = 5 + index * (bar_h + gap)
        length = int(round((width - label_w - 50) * count / float(top)))
        parts.append('<text x="0" y="%d">%s</text>' % (y + 15, _h(label)))
        parts.append('<rect x="%d" y="%d" width="%d" height="%d" rx="3" fill="%s"/>'
                     % (label_w, y, max(length, 1), bar_h, COLOURS[key]))
        parts.append('<text x="%d" y="%d">%d</text>' % (label_w + max(length, 1) + 6, y + 15, count))
    parts.append("</svg>")
    return "".join(parts)


def age_chart(result):
    """One bar per VM: age of its last success, with a tick at its RPO; longest ages first."""
    def oldest_first(row):
        age = row["last_success_age_hours"]
        return (-(age if age is not None else float("inf")), str(row["vm_name"]))

    rows = sorted(result["vms"], key=oldest_first)
    ages = [row["last_success_age_hours"] for row in rows if row["last_success_age_hours"] is not None]
    rpos = [row["rpo_hours"] for row in rows if row["rpo_hours"]]
    scale_max = max(ages + rpos + [1.0]) * 1.05
    width, label_w, bar_h, gap = 620, 190, 11, 4
    plot_w = width - label_w - 70
    height = len(rows) * (bar_h + gap) + 30
    parts = ['<svg role="img" aria-label="Age of the last success per VM" width="%d" height="%d" viewBox="0 0 %d %d">'
             % (width, height, width, height), "<title>Age of the last success per VM, hours</title>"]
    parts.append('<text x="%d" y="12">0 h</text><text x="%d" y="12" text-anchor="end">%s</text>'
                 % (label_w, label_w + plot_w, _h(_age(scale_max))))
    for index, row in enumerate(rows):
        y = 20 + index * (bar_h + gap)
        name = str(row["vm_name"])
        short = name if len(name) <= 28 else name[:27] + "\u2026"
        parts.append('<text x="0" y="%d"><title>%s</title>%s</text>' % (y + 9, _h(name), _h(short)))
        colour = COLOURS[row["reason"] or "compliant"]
        if row["last_success_age_hours"] is None:
            parts.append('<text x="%d" y="%d" fill="%s">never</text>' % (label_w, y + 9, colour))
        else:
            length = max(int(round(plot_w * row["last_success_age_hours"] / scale_max)), 1)
            parts.append('<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>' % (label_w, y, length, bar_h, colour))
            parts.append('<text x="%d" y="%d">%s</text>' % (label_w + length + 4, y + 9, _h(_age(row["last_success_age_hours"]))))
        if row["rpo_hours"]:
            x = label_w + int(round(plot_w * row["rpo_hours"] / scale_max))
            parts.append('<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#1f2933" stroke-width="2"/>' % (x, x, y - 1, y + bar_h + 1))
    parts.append("</svg>")
    return "".join(parts)


def render_html(result, title):
    """The whole page."""
    numbers = headline(result)
    rows_html = []
    for row in result["vms"]:
        rows_html.append(
            '<tr class="vm %s"><td class="wrap">%s</td><td class="nowrap">%s</td><td>%s</td><td>%s</td>'
            '<td class="nowrap">%s</td><td>%s</td><td class="num">%s</td><td class="wrap">%s</td><td class="nowrap">%s</td>'
            '<td class="num">%s</td><td class="wrap">%s</td></tr>'
            % (_h(row["status"]), _h(row["vm_name"]), _h(row["backup_server_name"] or "-"), _badge(row),
               _h(row["source"] or "-"), _h(_when(row["last_success_time"]) or "never"), _h(_last(row) or "-"),
               _h(_age(row["last_success_age_hours"])), _h(row["job_name"] or "-"),
               _h(_when(row["last_run_time"]) or "-"), _h("%g h" % row["rpo_hours"]), _h(row["detail"] or "")))
    worst = "".join('<li><strong>%s</strong>%s: %s</li>'
                    % (_h(item["vm_name"]), _h(" on %s" % item["backup_server_name"] if item["backup_server_name"] else ""),
                       _h(REASON_LABEL.get(item["reason"], item["reason"]))) for item in result["worst"])
    worst_block = ('<div class="card"><div>Worst offenders</div><ol class="worst">%s</ol></div>' % worst) if worst else ""
    state = "good" if numbers["violations"] == 0 else "bad"
    page_title = "%s: %d of %d VMs compliant" % (title, numbers["compliant"], numbers["total"])
    return "".join([
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        "<title>%s</title><style>%s</style></head><body>" % (_h(page_title), CSS),
        "<h1>%s</h1>" % _h(title),
        '<p class="meta">Generated %s &middot; default RPO %s h &middot; sources: %s &middot; %s excluded</p>'
        % (_h(result["generated_at"]), _h("%g" % result["rpo_hours"]), _h(", ".join(result["sources"])),
           _h(result["summary"]["excluded"])),
        '<section class="cards" id="headline">',
        '<div class="card %s"><div>Compliant VMs</div><div class="big"><span id="compliant">%d</span> / '
        '<span id="total">%d</span></div><div><span id="percent">%s</span>%%</div></div>'
        % (state, numbers["compliant"], numbers["total"], _h("%g" % numbers["percent"])),
        '<div class="card %s"><div>Not compliant</div><div class="big" id="violations">%d</div></div>'
        % (state, numbers["violations"]),
        worst_block,
        "</section>",
        '<section class="charts"><div><h2>Verdicts</h2>%s</div><div><h2>Age of the last success (bar) against the RPO '
        '(tick)</h2>%s</div></section>' % (reason_chart(result), age_chart(result)),
        "<h2>Every VM</h2>",
        '<table id="vms"><thead><tr><th>VM</th><th>Backup server</th><th>Status</th><th>Source</th><th>Last success</th>'
        "<th>Last result</th><th>Age</th><th>Job</th><th>Last run</th><th>RPO</th><th>Reason</th></tr></thead><tbody>",
        "".join(rows_html),
        "</tbody></table></body></html>\n",
    ])


# -------------------------------------------------------------------------------------- Markdown

def _md(value):
    """Text safe inside a Markdown table cell: no HTML, no table or emphasis syntax, one line."""
    text = "" if value is None else str(value)
    text = " ".join(text.split())
    text = escape(text, quote=False)
    for char in "\\`*_{}[]()#+!|~":
        text = text.replace(char, "\\" + char)
    return text or "-"


def render_markdown(result, title):
    """Headline, worst offenders and the table."""
    numbers = headline(result)
    lines = ["# %s" % _md(title), "",
             "**%d of %d VMs compliant** (%g%%), %d not compliant. Generated %s, default RPO %g h, sources: %s."
             % (numbers["compliant"], numbers["total"], numbers["percent"], numbers["violations"],
                _md(result["generated_at"]), result["rpo_hours"], _md(", ".join(result["sources"]))), ""]
    if result["worst"]:
        lines.append("Worst offenders:")
        lines.append("")
        for item in result["worst"]:
            lines.append("1. %s on %s: %s" % (_md(item["vm_name"]), _md(item["backup_server_name"]),
                                              _md(REASON_LABEL.get(item["reason"], item["reason"]))))
        lines.append("")
    lines.append("| VM | Backup server | Status | Last success | Last result | Age | Job | Reason |")
    lines.append("|---|---|---|---|---|---|---|---|")
    for row in result["vms"]:
        lines.append("| %s |" % " | ".join([
            _md(row["vm_name"]), _md(row["backup_server_name"]), _md(REASON_LABEL.get(row["reason"], "Compliant")),
            _md(_when(row["last_success_time"]) or "never"), _md(_last(row)), _md(_age(row["last_success_age_hours"])),
            _md(row["job_name"]), _md(row["detail"]) if row["detail"] else "-"]))
    return "\n".join(lines) + "\n"


def render(result, format="html", title="Replica compliance"):
    """The report text in *format*."""
    _check(result)
    if format not in FORMATS:
        raise AnsibleFilterError("compliance_report: format must be one of %s, not %r" % (", ".join(FORMATS), format))
    if format == "json":
        return json.dumps(result, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    if format == "markdown":
        return render_markdown(result, str(title))
    return render_html(result, str(title))


def compliance_report(result, format="html", title="Replica compliance"):
    """Filter entry point: :func:`render`, the text marked unsafe so that it is never templated."""
    return _report_text(render(result, format, title))


class FilterModule:
    """Compliance report rendering."""

    def filters(self):
        return {"compliance_report": compliance_report}
