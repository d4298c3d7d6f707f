# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """Connection and tuning options shared by every module and the inventory plugin."""

    # Modules: documentation cannot declare env vars, so they are named in prose.
    DOCUMENTATION = r"""
options:
  url:
    description:
      - URL of the Veeam Backup Enterprise Manager REST API, for example C(https://em.example.com:9398).
      - C(/api) is added when missing. Enterprise Manager listens on port C(9398); the Veeam Backup &
        Replication REST API on port C(9419) is a different API and is refused with a clear message.
      - If not set, the value of the E(VEEAM_EM_URL) environment variable is used.
    type: str
    required: true
  username:
    description:
      - Enterprise Manager account, written C(DOMAIN\user) or C(user@domain).
      - The account needs the Enterprise Manager role Portal Administrator or Portal User. EM lets a Restore
        Operator log on too, but does not document that it may read every session; a refused read fails with
        HTTP 403.
      - If not set, the value of the E(VEEAM_EM_USERNAME) environment variable is used.
    type: str
    required: true
  password:
    description:
      - Password of O(username). Sent only in the logon request, UTF-8 encoded.
      - If not set, the value of the E(VEEAM_EM_PASSWORD) environment variable is used.
    type: str
    required: true
  validate_certs:
    description:
      - Verify the TLS certificate of Enterprise Manager.
      - Set to V(false) only on a trusted network; it disables verification even when
        E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) is set.
      - If not set, the value of the E(VEEAM_EM_VALIDATE_CERTS) environment variable is used.
    type: bool
    default: true
  ca_path:
    description:
      - PEM file with the CA certificate(s) that signed Enterprise Manager's (often self-signed) certificate.
      - If not set, the value of the E(VEEAM_EM_CA_PATH) environment variable is used; without either, the
        system trust store (or E(REQUESTS_CA_BUNDLE)) applies.
    type: path
  timeout:
    description:
      - Seconds to wait for each HTTP request (connect and each read).
      - If not set, the value of the E(VEEAM_EM_TIMEOUT) environment variable is used.
    type: int
    default: 30
  retries:
    description:
      - Maximum number of attempts for a read (GET) that fails transiently (connection error, timeout,
        HTTP 429, 502, 503, 504), with exponential backoff and jitter; a C(Retry-After) header is honoured
        up to 30 seconds. Logons are never retried.
    type: int
    default: 4
  retry_deadline:
    description:
      - Total seconds one request may spend in retries before the error is reported.
    type: int
    default: 60
  page_size:
    description:
      - Records per page requested from the query service. Always sent, because Enterprise Manager's own
        default differs between versions. Limited to 10000.
    type: int
    default: 500
  concurrency:
    description:
      - How many result pages are fetched in parallel after the first one. V(1) fetches pages one by one.
      - The first page is always fetched alone, because it tells how many pages there are.
    type: int
    default: 6
  wire_format:
    description:
      - Format asked from Enterprise Manager. Both give identical results; V(xml) is the default because its
        shape did not change between Enterprise Manager versions, while JSON key casing changed in v13.
    type: str
    choices: [xml, json]
    default: xml
notes:
  - HTTPS proxies are taken from the standard E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY) environment variables.
  - Every run logs on to Enterprise Manager once and logs off when done, errors included.
requirements:
  - requests
  - xmltodict (for O(wire_format=xml))
"""

    # Plugins (inventory): the same options, with their environment variables declared.
    PLUGINS = r"""
options:
  url:
    description:
      - URL of the Veeam Backup Enterprise Manager REST API, for example C(https://em.example.com:9398).
      - C(/api) is added when missing. Enterprise Manager listens on port C(9398); the Veeam Backup &
        Replication REST API on port C(9419) is a different API and is refused with a clear message.
    type: str
    required: true
    env:
      - name: VEEAM_EM_URL
  username:
    description:
      - Enterprise Manager account, written C(DOMAIN\user) or C(user@domain).
      - The account needs the Enterprise Manager role Portal Administrator or Portal User. EM lets a Restore
        Operator log on too, but does not document that it may read every session; a refused read fails with
        HTTP 403.
    type: str
    required: true
    env:
      - name: VEEAM_EM_USERNAME
  password:
    description:
      - Password of O(username). Sent only in the logon request, UTF-8 encoded.
    type: str
    required: true
    env:
      - name: VEEAM_EM_PASSWORD
  validate_certs:
    description:
      - Verify the TLS certificate of Enterprise Manager.
      - Set to V(false) only on a trusted network; it disables verification even when
        E(REQUESTS_CA_BUNDLE) or E(CURL_CA_BUNDLE) is set.
    type: bool
    default: true
    env:
      - name: VEEAM_EM_VALIDATE_CERTS
  ca_path:
    description:
      - PEM file with the CA certificate(s) that signed Enterprise Manager's (often self-signed) certificate.
    type: path
    env:
      - name: VEEAM_EM_CA_PATH
  timeout:
    description:
      - Seconds to wait for each HTTP request (connect and each read).
    type: int
    default: 30
    env:
      - name: VEEAM_EM_TIMEOUT
  retries:
    description:
      - Maximum number of attempts for a read (GET) that fails transiently (connection error, timeout,
        HTTP 429, 502, 503, 504), with exponential backoff and jitter; a C(Retry-After) header is honoured
        up to 30 seconds. Logons are never retried.
    type: int
    default: 4
  retry_deadline:
    description:
      - Total seconds one request may spend in retries before the error is reported.
    type: int
    default: 60
  page_size:
    description:
      - Records per page requested from the query service. Always sent, because Enterprise Manager's own
        default differs between versions. Limited to 10000.
    type: int
    default: 500
  concurrency:
    description:
      - How many result pages are fetched in parallel after the first one. V(1) fetches pages one by one.
      - The first page is always fetched alone, because it tells how many pages there are.
    type: int
    default: 6
  wire_format:
    description:
      - Format asked from Enterprise Manager. Both give identical results; V(xml) is the default because its
        shape did not change between Enterprise Manager versions, while JSON key casing changed in v13.
    type: str
    choices: [xml, json]
    default: xml
notes:
  - HTTPS proxies are taken from the standard E(HTTPS_PROXY), E(HTTP_PROXY) and E(NO_PROXY) environment variables.
requirements:
  - requests
  - xmltodict (for O(wire_format=xml))
"""
