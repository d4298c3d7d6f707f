# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""Retry policy: which failures are worth another attempt, and how long to wait.

The decisions are pure functions so that unit tests can check them without a
network; :class:`RetryPolicy` adds the small loop, with the clock, the sleep and
the random source injectable.  Only idempotent requests (GET, HEAD, DELETE) are ever
retried; a logon (POST) never is.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils
import random
import time

RETRY_STATUSES = frozenset((429, 502, 503, 504))
# DELETE is idempotent too (RFC 9110): the logoff is retried, because a logoff lost to one 503 or
# one reset leaves the session open on EM until its idle timeout; a second DELETE of a session
# that is already gone answers 404, which the caller treats like any unconfirmed logoff.
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "DELETE"))

DEFAULT_RETRIES = 4
DEFAULT_RETRY_DEADLINE = 60.0
DEFAULT_BACKOFF_BASE = 0.5
DEFAULT_BACKOFF_CAP = 8.0
DEFAULT_RETRY_AFTER_CAP = 30.0


def is_retryable_status(method, status):
    """True when an answer with *status* to *method* may be retried."""
    return method.upper() in IDEMPOTENT_METHODS and status in RETRY_STATUSES


def parse_retry_after(value, now=None):
    """Seconds to wait according to a ``Retry-After`` header, or None when absent or unusable.

    Both forms of RFC 9110 are accepted: delay-seconds and an HTTP-date.  Negative
    results (a date in the past) become 0.
    """
    if value is None:
        return None
    value = str(value).strip()
    if not value:
        return None
    if value.isdigit():
        return float(int(value))
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when is None or when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def backoff_delay(attempt, base=DEFAULT_BACKOFF_BASE, cap=DEFAULT_BACKOFF_CAP, rand=random.random):
    """Exponential backoff with full jitter: uniform in [0, min(cap, base * 2 ** (attempt - 1))].

    *attempt* is the number of the attempt that just failed, starting at 1.
    """
    ceiling = min(cap, base * (2 ** max(0, attempt - 1)))
    return ceiling * rand()


def next_delay(attempt, max_attempts, elapsed, deadline, retry_after=None,
               base=DEFAULT_BACKOFF_BASE, cap=DEFAULT_BACKOFF_CAP,
               retry_after_cap=DEFAULT_RETRY_AFTER_CAP, rand=random.random):
    """How long to sleep before attempt ``attempt + 1``, or None to give up.

    A server's ``Retry-After`` wins over the computed backoff but is capped; the
    attempt count and the total deadline (seconds since the first attempt) bound
    everything.
    """
    if attempt >= max_attempts:
        return None
    if retry_after is not None:
        delay = min(max(0.0, retry_after), retry_after_cap)
    else:
        delay = backoff_delay(attempt, base, cap, rand)
    if elapsed + delay > deadline:
        return None
    return delay


class RetryPolicy:
    """Retry settings plus the loop that applies them."""

    def __init__(self, retries=DEFAULT_RETRIES, deadline=DEFAULT_RETRY_DEADLINE,
                 base=DEFAULT_BACKOFF_BASE, cap=DEFAULT_BACKOFF_CAP,
                 retry_after_cap=DEFAULT_RETRY_AFTER_CAP,
                 rand=random.random, sleep=time.sleep, clock=time.monotonic):
        if retries < 1:
            raise ValueError("retries must be at least 1 (the first attempt)")
        self.max_attempts = retries
        self.deadline = float(deadline)
        self.base = base
        self.cap = cap
        self.retry_after_cap = retry_after_cap
        self.rand = rand
        self.sleep = sleep
        self.clock = clock

    def _delay(self, attempt, started, retry_after=None):
        return next_delay(attempt, self.max_attempts, self.clock() - started, self.deadline,
                          retry_after, self.base, self.cap, self.retry_after_cap, self.rand)

    def run(self, method, attempt, is_transient):
        """Call ``attempt()`` until it succeeds, fails for good, or the policy runs out.

        ``attempt`` returns a response with ``status`` and ``headers`` or raises;
        ``is_transient(exc)`` says whether an exception is worth another try.  The
        last response or exception is what the caller sees when retries run out.
        """
        idempotent = method.upper() in IDEMPOTENT_METHODS
        started = self.clock()
        number = 0
        while True:
            number += 1
            try:
                response = attempt()
            except Exception as exc:  # pylint: disable=broad-except
                if not (idempotent and is_transient(exc)):
                    raise
                delay = self._delay(number, started)
                if delay is None:
                    raise
                self.sleep(delay)
                continue
            if not is_retryable_status(method, response.status):
                return response
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            delay = self._delay(number, started, retry_after)
            if delay is None:
                return response
            self.sleep(delay)
