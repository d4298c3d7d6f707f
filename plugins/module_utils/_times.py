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
