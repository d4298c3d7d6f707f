# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import email.utils

import pytest

from ansible_collections.opsbox.veeam_em.plugins.module_utils._retry import (
    RetryPolicy, backoff_delay, is_retryable_status, next_delay, parse_retry_after,
)


class FakeResponse:
    def __init__(self, status, retry_after=None):
        self.status = status
        self.headers = {"Retry-After": retry_after} if retry_after is not None else {}


class Clock:
    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def policy(clock, retries=4, deadline=60.0, rand=lambda: 1.0):
    return RetryPolicy(retries=retries, deadline=deadline, base=0.5, cap=8.0, retry_after_cap=30.0,
                       rand=rand, sleep=clock.sleep, clock=clock)


@pytest.mark.parametrize("method,status,expected", [
    ("GET", 429, True), ("GET", 502, True), ("GET", 503, True), ("GET", 504, True),
    ("GET", 500, False), ("GET", 401, False), ("GET", 404, False), ("GET", 200, False),
    ("POST", 503, False), ("DELETE", 503, True), ("DELETE", 500, False), ("get", 503, True),
])
def test_which_statuses_retry(method, status, expected):
    assert is_retryable_status(method, status) is expected


def test_retry_after_seconds_and_dates():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 0 ") == 0.0
    date = email.utils.formatdate(1000.0 + 12, usegmt=True)
    assert parse_retry_after(date, now=1000.0) == pytest.approx(12.0)
    assert parse_retry_after(email.utils.formatdate(900.0, usegmt=True), now=1000.0) == 0.0
    for bad in (None, "", "soon", "-5", "1.5"):
        assert parse_retry_after(bad) is None


@pytest.mark.parametrize("attempt,ceiling", [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 8.0), (9, 8.0)])
def test_backoff_is_full_jitter_under_a_capped_exponential(attempt, ceiling):
    assert backoff_delay(attempt, 0.5, 8.0, rand=lambda: 1.0) == ceiling
    assert backoff_delay(attempt, 0.5, 8.0, rand=lambda: 0.0) == 0.0
    assert 0 <= backoff_delay(attempt, 0.5, 8.0) <= ceiling


def test_next_delay_limits():
    assert next_delay(4, 4, 0, 60) is None  # attempts used up
    assert next_delay(1, 4, 0, 60, retry_after=100) == 30.0  # Retry-After capped
    assert next_delay(1, 4, 0, 60, retry_after=3) == 3.0
    assert next_delay(1, 4, 58, 60, retry_after=3) is None  # would pass the deadline


def test_loop_retries_transient_statuses_then_succeeds():
    clock = Clock()
    answers = [FakeResponse(503), FakeResponse(429, "2"), FakeResponse(200)]
    result = policy(clock).run("GET", lambda: answers.pop(0), lambda exc: False)
    assert result.status == 200
    assert clock.sleeps == [0.5, 2.0]


def test_loop_returns_last_answer_when_attempts_run_out():
    clock = Clock()
    calls = []

    def attempt():
        calls.append(1)
        return FakeResponse(502)
    assert policy(clock, retries=3).run("GET", attempt, lambda exc: False).status == 502
    assert len(calls) == 3


def test_loop_stops_at_the_deadline():
    clock = Clock()
    calls = []

    def attempt():
        calls.append(1)
        return FakeResponse(503, "10")
    assert policy(clock, retries=100, deadline=25).run("GET", attempt, lambda exc: False).status == 503
    assert len(calls) == 3 and clock.now == 20.0


def test_exceptions_retry_only_when_transient_and_idempotent():
    clock = Clock()
    errors = [ConnectionError("reset"), ConnectionError("reset")]

    def attempt():
        if errors:
            raise errors.pop(0)
        return FakeResponse(200)
    assert policy(clock).run("GET", attempt, lambda exc: isinstance(exc, ConnectionError)).status == 200

    def broken():
        raise ValueError("x")
    with pytest.raises(ValueError):
        policy(clock).run("GET", broken, lambda exc: False)
    post_calls = []

    def post():
        post_calls.append(1)
        raise ConnectionError("reset")
    with pytest.raises(ConnectionError):
        policy(clock).run("POST", post, lambda exc: True)
    assert len(post_calls) == 1


def test_a_logoff_is_retried_like_a_read():
    # A logoff (DELETE) lost to one 503 or one reset would leave the session open on EM.
    clock = Clock()
    answers = [FakeResponse(503), FakeResponse(204)]
    assert policy(clock).run("DELETE", lambda: answers.pop(0), lambda exc: False).status == 204
    errors = [ConnectionError("reset")]

    def attempt():
        if errors:
            raise errors.pop(0)
        return FakeResponse(204)
    assert policy(clock).run("DELETE", attempt, lambda exc: isinstance(exc, ConnectionError)).status == 204
    assert len(clock.sleeps) == 2


def test_non_idempotent_statuses_are_returned_at_once():
    clock = Clock()
    assert policy(clock).run("POST", lambda: FakeResponse(503), lambda exc: False).status == 503
    assert clock.sleeps == []


def test_retries_must_allow_one_attempt():
    with pytest.raises(ValueError):
        RetryPolicy(retries=0)
