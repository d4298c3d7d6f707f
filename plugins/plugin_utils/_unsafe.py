# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Mark data that came from Enterprise Manager as unsafe before Ansible sees it.

Every string is wrapped, not only those that contain template markers: VM, job and
server names are chosen by whoever administers vSphere or Veeam, not by the person
running the playbook. ``wrap_var`` works on both supported lines: on ansible-core
2.16 it returns ``AnsibleUnsafeText``, which the templar never renders; from 2.19 on
it removes any trust tag, and untrusted strings are never rendered either.
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.utils.unsafe_proxy import wrap_var


def make_unsafe(value, memo=None):
    """Return *value* with every string in it (keys included) marked unsafe; other types unchanged.

    With *memo* (a dict the caller keeps for one batch), equal strings share one unsafe object:
    job, server, result and state names repeat across thousands of hosts, and one wrapped copy
    per host of each was most of the inventory's memory on large installations.
    """
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return dict((make_unsafe(key, memo), make_unsafe(item, memo)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(make_unsafe(item, memo) for item in value)
    if memo is None or not isinstance(value, str):
        return wrap_var(value)
    wrapped = memo.get(value)
    if wrapped is None:
        wrapped = memo[value] = wrap_var(value)
    return wrapped
