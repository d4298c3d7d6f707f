# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

"""The compliance report as a person sees it: the collection playbook runs against the simulator
(``demo`` data set), then headless Chromium opens the HTML report through the DevTools protocol
(over ``--remote-debugging-pipe``, standard library only), records every request the page makes,
reads the page and takes a screenshot.

Run: ``.cache/venv/core2.16/bin/python -m pytest -q -p no:cacheprovider tests/report_browser``.
Chromium is Debian's ``chromium`` package; it is installed when missing (as root), and the test
FAILS, never skips, when it cannot be. ``REPORT_SCREENSHOT_TO_DOCS=1`` also copies the screenshot to
``docs/images/compliance_report.png``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import select
import shutil
import subprocess
import sys
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUTPUT = os.path.join(ROOT, "tests", "output", "report_browser")
SCREENSHOT = os.path.join(OUTPUT, "compliance_report.png")
DOCS_SCREENSHOT = os.path.join(ROOT, "docs", "images", "compliance_report.png")
# Without these flags Chromium tries connections of its own (updates, sync, QUIC) that this kind of
# machine refuses; they are browser traffic, not the page's, and the test only watches the page.
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars", "--remote-debugging-pipe"]

sys.path.insert(0, os.path.join(ROOT, "tests", "simulator"))


def find_or_install_chromium():
    """The chromium executable; installs Debian's package when it is missing. Fails (never skips) otherwise."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        pytest.fail("Chromium is not installed and cannot be installed here (needs root and apt-get): "
                    "run 'apt-get update && apt-get install -y chromium' as root, then run this test again")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        process = subprocess.run(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 universal_newlines=True, check=False)
        if process.returncode:
            pytest.fail("installing Chromium failed (%s):\n%s" % (" ".join(command), process.stdout[-3000:]))
    found = shutil.which("chromium")
    if not found:
        pytest.fail("apt-get installed the chromium package but no chromium executable is on PATH")
    return found


class DevTools:
    """A minimal Chrome DevTools protocol client over --remote-debugging-pipe (fd 3 in, fd 4 out)."""

    def __init__(self, executable, profile):
        to_chrome_read, self._write = os.pipe()
        self._read, from_chrome_write = os.pipe()

        def wire_fds():
            first, second = os.dup(to_chrome_read), os.dup(from_chrome_write)
            os.dup2(first, 3)
            os.dup2(second, 4)

        self.process = subprocess.Popen(  # pylint: disable=subprocess-popen-preexec-fn
            [executable] + CHROMIUM_FLAGS + ["--user-data-dir=" + profile, "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4, to_chrome_read, from_chrome_write), preexec_fn=wire_fds)
        os.close(to_chrome_read)
        os.close(from_chrome_write)
        self._buffer = b""
        self._next_id = 0
        self.events = []

    def _receive(self, deadline):
        while b"\0" not in self._buffer:
            remaining = deadline - time.time()
            if remaining <= 0:
                raise AssertionError("Chromium did not answer in time")
            ready, dummy, dummy2 = select.select([self._read], [], [], remaining)
            if ready:
                chunk = os.read(self._read, 1 << 20)
                if not chunk:
                    raise AssertionError("Chromium closed the DevTools pipe")
                self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message.decode("utf-8"))

    def call(self, method, params=None, session=None, timeout=30):
        """Send one command and return its result; events that arrive meanwhile are kept in ``events``."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self._write, json.dumps(message).encode("utf-8") + b"\0")
        deadline = time.time() + timeout
        while True:
            answer = self._receive(deadline)
            if answer.get("id") == self._next_id:
                if "error" in answer:
                    raise AssertionError("%s failed: %s" % (method, answer["error"]))
                return answer.get("result", {})
            self.events.append(answer)

    def wait_for(self, method, timeout=30):
        """Wait for an event (or find it among those already received)."""
        deadline = time.time() + timeout
        while True:
            for event in self.events:
                if event.get("method") == method:
                    return event
            self.events.append(self._receive(deadline))

    def close(self):
        try:
            self.call("Browser.close", timeout=10)
        except (AssertionError, OSError):
            pass
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._write)
        os.close(self._read)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """Run the collection playbook against the simulator's demo data set; return the report folder."""
    from em_simulator.testing import start_simulator

    base = tmp_path_factory.mktemp("report")
    collections = base / "collections" / "ansible_collections" / "opsbox"
    collections.mkdir(parents=True)
    os.symlink(ROOT, str(collections / "veeam_em"))
    cache = os.path.join(ROOT, ".cache", "simulator")
    sim = start_simulator(dataset="demo", tls=True, state_dir=cache, cache_dir=cache)
    try:
        env = dict(os.environ, VEEAM_EM_URL=sim.url, VEEAM_EM_USERNAME=sim.username, VEEAM_EM_PASSWORD=sim.password,
                   VEEAM_EM_CA_PATH=sim.ca_path, ANSIBLE_COLLECTIONS_PATH=str(base / "collections"),
                   ANSIBLE_LOCALHOST_WARNING="false", ANSIBLE_INVENTORY_UNPARSED_WARNING="false", ANSIBLE_NOCOLOR="1")
        env.pop("PYTHONPATH", None)
        playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
        process = subprocess.run([playbook, "opsbox.veeam_em.compliance_report", "-e",
                                  json.dumps({"compliance_report_dir": str(base / "out"), "compliance_fail": False})],
                                 env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True,
                                 check=False)
        assert process.returncode == 0, process.stdout[-4000:]
        assert sim.stats()["open_sessions"] == 0
    finally:
        sim.stop()
    return base / "out"


@pytest.fixture(scope="module")
def page(report, tmp_path_factory):
    """Open the HTML report in headless Chromium; return what the page showed and requested."""
    chromium = find_or_install_chromium()
    profile = str(tmp_path_factory.mktemp("chromium-profile"))
    url = "file://" + str(report / "replica_compliance.html")
    browser = DevTools(chromium, profile)
    try:
        target = browser.call("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = browser.call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for method in ("Network.enable", "Page.enable", "Runtime.enable"):
            browser.call(method, session=session)
        browser.call("Emulation.setDeviceMetricsOverride", {"width": 1280, "height": 900, "deviceScaleFactor": 1,
                                                            "mobile": False}, session=session)
        browser.events = []
        browser.call("Page.navigate", {"url": url}, session=session)
        browser.wait_for("Page.loadEventFired")
        probe = ("JSON.stringify({title: document.title, rows: document.querySelectorAll('#vms tbody tr.vm').length,"
                 " compliant: document.getElementById('compliant').textContent,"
                 " total: document.getElementById('total').textContent,"
                 " violations: document.getElementById('violations').textContent,"
                 " scripts: document.scripts.length,"
                 " resources: performance.getEntriesByType('resource').length,"
                 " height: document.documentElement.scrollHeight, html: document.documentElement.outerHTML})")
        shown = json.loads(browser.call("Runtime.evaluate", {"expression": probe, "returnByValue": True},
                                        session=session)["result"]["value"])
        shot = browser.call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True,
                                                       "clip": {"x": 0, "y": 0, "width": 1280,
                                                                "height": min(shown["height"], 2400), "scale": 1}},
                            session=session, timeout=60)
        requests = [event["params"]["request"]["url"] for event in browser.events
                    if event.get("method") == "Network.requestWillBeSent" and event.get("sessionId") == session]
    finally:
        browser.close()
    os.makedirs(OUTPUT, exist_ok=True)
    with open(SCREENSHOT, "wb") as handle:
        handle.write(base64.b64decode(shot["data"]))
    if os.environ.get("REPORT_SCREENSHOT_TO_DOCS") == "1":
        os.makedirs(os.path.dirname(DOCS_SCREENSHOT), exist_ok=True)
        shutil.copyfile(SCREENSHOT, DOCS_SCREENSHOT)
    with open(str(report / "replica_compliance.json")) as handle:
        data = json.load(handle)
    return {"shown": shown, "requests": requests, "url": url, "data": data}


def test_title_and_headline_match_the_json(page):
    summary = page["data"]["summary"]
    shown = page["shown"]
    assert shown["title"] == "Replica compliance: %d of %d VMs compliant" % (summary["compliant"], summary["total"])
    assert (int(shown["compliant"]), int(shown["total"]), int(shown["violations"])) == (
        summary["compliant"], summary["total"], summary["violations"])
    assert summary["total"] > 50 and summary["violations"] > 0


def test_one_table_row_per_vm(page):
    assert page["shown"]["rows"] == len(page["data"]["vms"]) == page["data"]["summary"]["total"]


def test_the_page_made_no_network_request(page):
    # The only request is the file itself: no image, font, style sheet or script was fetched.
    assert page["requests"] == [page["url"]]
    assert page["shown"]["resources"] == 0
    assert page["shown"]["scripts"] == 0
    assert not re.search(r"(?i)\b(?:src|href)\s*=", page["shown"]["html"])
    assert not re.search(r"(?i)https?://", page["shown"]["html"])
    assert "default-src 'none'" in page["shown"]["html"]


def test_hostile_names_are_shown_as_text(page):
    names = [row["vm_name"] for row in page["data"]["vms"]]
    assert "{{ lookup('pipe', 'id') }}" in names
    assert "{{ lookup(&#x27;pipe&#x27;, &#x27;id&#x27;) }}" in page["shown"]["html"] or \
        "{{ lookup('pipe', 'id') }}" in page["shown"]["html"]
    assert "uid=" not in page["shown"]["html"]


def test_the_screenshot_was_taken(page):
    with open(SCREENSHOT, "rb") as handle:
        header = handle.read(24)
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert width == 1280 and height > 800
