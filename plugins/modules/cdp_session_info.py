#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cdp_session_info
short_description: Read CDP policy sessions from Veeam Backup Enterprise Manager
version_added: 1.0.0
description:
  - "Returns continuous data protection (CDP) policy sessions (EM type C(CdpReplicaSession)) selected by the options below."
  - "Backup servers start a new CDP policy session every 24 hours."
  - "Enterprise Manager does the filtering, sorting and paging; only the matching sessions are transferred."
author:
  - opsbox.veeam_em contributors (@opsbox)
options:
  policy_name:
    description:
      - Keep sessions of these CDP policies.
    type: list
    elements: str
extends_documentation_fragment:
  - opsbox.veeam_em.connection
  - opsbox.veeam_em.info
"""

EXAMPLES = r"""
- name: The current session of every CDP policy
  opsbox.veeam_em.cdp_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    latest: true
  register: cdp
"""

RETURN = r"""
cdp_sessions:
  description: The CDP policy sessions, newest first unless O(sort=oldest_first).
  type: list
  elements: dict
  returned: always
  contains:
    uid:
      description: "Enterprise Manager UID of the session."
      type: str
      returned: always
      sample: "urn:veeam:CdpReplicaSession:30a2b685-f858-4f15-9ef6-d3b007a99d2d"
    id:
      description: "The GUID part of RV(cdp_sessions[].uid), usable with O(id)."
      type: str
      returned: always
      sample: "30a2b685-f858-4f15-9ef6-d3b007a99d2d"
    name:
      description: "Session name as Enterprise Manager shows it."
      type: str
      returned: always
      sample: "CDP Policy 1@2026-11-20 15:00:08"
    type:
      description: "Enterprise Manager type of the record."
      type: str
      returned: always
      sample: "CdpReplicaSession"
    creation_time:
      description: "When the session started, ISO 8601 in UTC with six fraction digits."
      type: str
      returned: always
      sample: "2026-11-20T06:00:11.263000Z"
    end_time:
      description: "When the session ended, ISO 8601 in UTC; V(null) while it is still running."
      type: str
      returned: always
      sample: null
    duration_seconds:
      description: "Seconds from start to end; V(null) while running."
      type: float
      returned: always
      sample: null
    state:
      description: "State of the session; V(Working) for the current one."
      type: str
      returned: always
      sample: "Working"
    result:
      description: "Result of the session; V(None) while it is still running."
      type: str
      returned: always
      sample: "None"
    backup_server_name:
      description: "Backup server the session ran on."
      type: str
      returned: always
      sample: "vbr01.example.com"
    backup_server_uid:
      description: "UID of that backup server."
      type: str
      returned: always
      sample: "urn:veeam:BackupServer:a490c017-2c1c-40ee-8bcf-73bcce6ab36f"
    policy_uid:
      description: "UID of the CDP policy."
      type: str
      returned: always
      sample: "urn:veeam:CdpPolicy:2b1f0c55-0f27-4d1b-9a53-6f2f1a6c1a10"
    policy_name:
      description: "Name of the CDP policy."
      type: str
      returned: always
      sample: "CDP Policy 1"
    policy_type:
      description: "Type of the policy."
      type: str
      returned: always
      sample: "CdpReplica"
    progress:
      description: "Progress in percent."
      type: int
      returned: always
      sample: 100
    is_retry:
      description: "Whether the session is a retry of a failed run."
      type: bool
      returned: always
      sample: false
    failure_message:
      description: "Why the session failed, when Enterprise Manager says; otherwise V(null)."
      type: str
      returned: always
      sample: null
summary:
  description: Counts of the returned sessions, so that a play can test them without a loop.
  type: dict
  returned: always
  contains:
    total:
      description: Number of sessions returned.
      type: int
      returned: always
      sample: 12
    by_result:
      description: Number of sessions per result.
      type: dict
      returned: always
      sample: {"Success": 10, "Failed": 1, "None": 1}
    by_state:
      description: Number of sessions per state.
      type: dict
      returned: always
      sample: {"Stopped": 11, "Working": 1}
"""

MODULE_OPTIONS = dict(
    policy_name=dict(type="list", elements="str"),
)

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opsbox.veeam_em.plugins.module_utils._info import info_argument_spec, run_info_module


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(MODULE_OPTIONS), supports_check_mode=True)
    run_info_module(module, "cdp_session_info")


if __name__ == "__main__":
    main()
