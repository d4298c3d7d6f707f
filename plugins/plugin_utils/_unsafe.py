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

from ansible.utils.unsafe_proxy import AnsibleUnsafeText, wrap_var


def origin_tagger(inventory):
    """The ``tag`` method of the origin ansible-core gives this inventory source, or None before 2.19.

    From ansible-core 2.19 on, the inventory object an inventory plugin receives is a proxy
    whose ``set_variable`` copies every string, number and dict of a host variable to attach
    that origin, unless the value already carries one. With 50,000 VMs the per-host copies of
    the same job, server and result names were ~430 MB. Tagging each distinct value once, with
    the very origin object ansible-core would have used, lets the proxy keep our (shared)
    objects. The proxy's ``_default_origin`` is private to ansible-core, so this is looked up
    defensively: without it, values are stored exactly as before, only with more memory.
    """
    tag = getattr(getattr(inventory, "_default_origin", None), "tag", None)
    return tag if callable(tag) else None


def make_unsafe(value, memo=None, tag=None):
    """Return *value* with every string in it (keys included) marked unsafe; other types unchanged.

    With *memo* (a dict the caller keeps for one batch), equal strings share one unsafe object:
    job, server, result and state names repeat across thousands of hosts, and one wrapped copy
    per host of each was most of the inventory's memory on large installations. With *tag*
    (see :func:`origin_tagger`) and *memo*, values and dicts are tagged with the origin too.
    """
    if memo is None:  # no batch to share the copies with: no tag either
        return _mark(value, {}, None)
    return _mark(value, memo, tag)


def _wrapped_text(text, memo, tag):
    """The one unsafe (and tagged) copy of *text* in *memo*."""
    wrapped = memo.get(text)
    if wrapped is None:
        # For a plain str, wrap_var ends in AnsibleUnsafeText(text) (2.16: the unsafe type; 2.19+: the
        # text without trust tags) after Mapping, Set and sequence checks that cost more than that call.
        wrapped = AnsibleUnsafeText(text) if text.__class__ is str else wrap_var(text)
        if tag is not None:
            wrapped = tag(wrapped)
        memo[text] = wrapped
    return wrapped


def _mark(value, memo, tag):
    kind = type(value)
    if value is None or kind is bool:
        return value
    # concrete types first: the Mapping ABC check was most of this function's time on large inventories
    if isinstance(value, str):
        return _wrapped_text(value, memo, tag)
    if isinstance(value, (int, float)):
        if tag is None:
            return value
        # keyed by type as well: 1 == 1.0, and the tagged copy keeps the type
        key = (kind, value)
        tagged = memo.get(key)
        if tagged is None:
            tagged = memo[key] = tag(value)
        return tagged
    if kind is dict or isinstance(value, Mapping):
        result = {}
        # The host variables of an inventory are flat dicts of text, None and numbers: those are
        # handled here without a call per item (make_unsafe was a quarter of building 5,000 hosts).
        for key, item in value.items():
            wrapped_key = memo.get(key) if key.__class__ is str else None
            if wrapped_key is None:
                wrapped_key = _mark(key, memo, tag)
            item_kind = type(item)
            if item_kind is str:
                wrapped = memo.get(item)
                result[wrapped_key] = wrapped if wrapped is not None else _wrapped_text(item, memo, tag)
            elif item is None or item_kind is bool or (item_kind is int and tag is None):
                result[wrapped_key] = item
            else:
                result[wrapped_key] = _mark(item, memo, tag)
        return tag(result) if tag is not None else result
    if isinstance(value, (list, tuple)):
        return type(value)(_mark(item, memo, tag) for item in value)
    return wrap_var(value)
