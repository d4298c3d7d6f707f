# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Parsing and rendering of EM timestamps (UTC, variable fraction digits)."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import re

UTC = datetime.timezone.utc

# EM writes 0 to 7 fraction digits (.NET ticks) with trailing zeros trimmed, always UTC with Z;
# offsets and a space separator are accepted too so that user input is forgiving.
_TIMESTAMP = re.compile(
    r"^\s*(\d{4})-(\d{2})-(\d{2})(?:[Tt ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d+))?)?)?"
    r"\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?\s*$"
)
# The one form EM itself writes (``2026-11-20T06:00:00.1234567Z``, ``2026-11-20T06:00:00Z``): tried first,
# because every record carries one or two and the general pattern above costs three times as much.
_EM_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d{1,7}))?Z\Z", re.ASCII)


def _em_timestamp(value):
    """``(aware UTC datetime or None, fact string or None)`` for EM's own form, or None for any other text.

    Raises ValueError for an impossible date in that form (month 13), like :func:`parse_timestamp`.
    """
    match = _EM_TIMESTAMP.match(value)
    if match is None:
        return None
    year, month, day, hour, minute, second, fraction = match.groups()
    micro = fraction[:6].ljust(6, "0") if fraction else "000000"
    moment = datetime.datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), int(micro),
                               tzinfo=UTC)
    if moment.year == 1:
        return None, None
    if moment.year < 1000:  # strftime's %Y does not pad such years the same way everywhere
        return moment, format_fact_time(moment)
    return moment, "%s.%sZ" % (value[:19], micro)


def fact_time(value):
    """``(aware UTC datetime, fact string)`` of a wire timestamp; ``(None, None)`` for none or a bad one.

    The same as ``parse_timestamp`` and ``format_fact_time`` together, without the work in
    between for EM's own form.
    """
    if value is None:
        return None, None
    if value.__class__ is str:
        try:
            known = _em_timestamp(value)
            if known is not None:
                return known
            moment = parse_timestamp(value)
        except ValueError:
            return None, None
        return moment, format_fact_time(moment)
    try:
        moment = parse_timestamp(value)
    except ValueError:
        return None, None
    return moment, format_fact_time(moment)


def parse_timestamp(value):
    """Parse an ISO 8601 string or a datetime into an aware UTC datetime.

    Naive values are taken as UTC (EM only speaks UTC).  Returns None for None,
    empty strings and EM's ``0001-01-01`` "no time" placeholder; raises ValueError
    for anything else that is not a timestamp.
    """
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        moment = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    if isinstance(value, datetime.date):
        return datetime.datetime(value.year, value.month, value.day, tzinfo=UTC)
    if not isinstance(value, str):
        raise ValueError("not a timestamp: %r" % (value,))
    known = _em_timestamp(value)
    if known is not None:
        return known[0]
    if not value.strip():
        return None
    match = _TIMESTAMP.match(value)
    if not match:
        raise ValueError("not an ISO 8601 timestamp: %r" % (value,))
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    tz = UTC
    if zone and zone[0] in "+-":
        digits = zone[1:].replace(":", "")
        offset = datetime.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        tz = datetime.timezone(offset if zone[0] == "+" else -offset)
    moment = datetime.datetime(int(year), int(month), int(day), int(hour or 0), int(minute or 0),
                               int(second or 0), micro, tzinfo=tz)
    if moment.year == 1:
        return None
    return moment.astimezone(UTC)


def format_fact_time(moment):
    """Render a fact timestamp: UTC, always six fraction digits, ``Z`` suffix.

    A fixed width keeps string comparison and sorting of facts correct and matches
    Ansible's own ``ansible_date_time.iso8601_micro``.
    """
    if moment is None:
        return None
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def format_filter_time(moment):
    """Render a filter value the way EM documents it: ``YYYY-MM-DDTHH:MM:SSZ`` in UTC.

    Fractions of a second are kept when there are any (EM's own examples filter on values
    such as ``2025-08-14T12:31:30.389954Z``): truncating them would make a bound taken from
    a fact's ``creation_time`` exclude the very session it came from.
    """
    moment = moment.astimezone(UTC)
    if moment.microsecond:
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
