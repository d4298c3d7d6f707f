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


def make_unsafe(value):
    """Return *value* with every string in it (keys included) marked unsafe; other types unchanged."""
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, Mapping):
        return dict((make_unsafe(key), make_unsafe(item)) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return type(value)(make_unsafe(item) for item in value)
    return wrap_var(value)
