#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: cdp_task_session_info
short_description: Read CDP replication task sessions from Veeam Backup Enterprise Manager
version_added: 1.0.0
description:
  - "Returns CDP replication task sessions (EM type C(CdpReplicaTaskSession)), the per-VM part of a CDP policy session,"
  - "selected by the options below. A task lasts until a long-term restore point is created, then a new one starts."
  - "Enterprise Manager does the filtering, sorting and paging; only the matching sessions are transferred, with one"
  - "exception: Enterprise Manager does not document C(Result) as a filter for this type, so O(result) is applied by"
  - "the module to what the other options selected."
author:
  - opsbox.veeam_em contributors (@opsbox)
options:
  vm_name:
    description:
      - Keep task sessions of these VMs.
    type: list
    elements: str
  policy_session_uid:
    description:
      - Keep the task sessions of this CDP policy session (its UID).
    type: str
  policy_session_name:
    description:
      - Keep the task sessions of the CDP policy session with this name.
    type: str
  latest_per_vm:
    description:
      - Return, per VM (backup server and VM name), only the task sessions that say how its latest runs went,
        that is its newest task session of the window, its newest completed one and its newest successful one
        (one to three records, deduplicated, newest first). This is what
        P(opsbox.veeam_em.compliance_evaluate#filter) needs, read with far fewer records than the whole window
        (the newest runs of every CDP policy first, older task sessions only for VMs that still miss one of the three).
      - Needs O(created_after) (the window starts there; it ends at O(created_before), default now).
      - Combines with O(created_after), O(created_before) and O(backup_server).
        Any other selecting option (O(id), O(name), O(result), O(state), O(filter), O(latest), O(limit),
        O(sort=oldest_first), O(vm_name), O(policy_session_uid), O(policy_session_name)) is refused before anything is read.
    type: bool
    default: false
extends_documentation_fragment:
  - opsbox.veeam_em.connection
  - opsbox.veeam_em.info
"""

EXAMPLES = r"""
- name: CDP task sessions of one VM in the last day
  opsbox.veeam_em.cdp_task_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    vm_name: [virt03-ubuntu01]
    created_after: 24h

- name: The newest CDP task of every protected VM that did not succeed
  opsbox.veeam_em.cdp_task_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    latest: true
    result: [Warning, Failed]

- name: Per VM, the CDP task sessions its compliance depends on, last 7 days
  opsbox.veeam_em.cdp_task_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    latest_per_vm: true
    created_after: 7d
  register: cdp_latest
"""

RETURN = r"""
cdp_task_sessions:
  description: The CDP task sessions, newest first unless O(sort=oldest_first); with O(latest_per_vm), one to three per VM.
  type: list
  elements: dict
  returned: always
  contains:
    uid:
      description: "Enterprise Manager UID of the task session."
      type: str
      returned: always
      sample: "urn:veeam:CdpReplicaTaskSession:787d754e-6399-46f1-8199-2207f0e8fe20"
    id:
      description: "The GUID part of RV(cdp_task_sessions[].uid), usable with O(id)."
      type: str
      returned: always
      sample: "787d754e-6399-46f1-8199-2207f0e8fe20"
    name:
      description: "Task session name as Enterprise Manager shows it."
      type: str
      returned: always
      sample: "virt03-ubuntu01@2026-11-20 07:00:06"
    type:
      description: "Enterprise Manager type of the record."
      type: str
      returned: always
      sample: "CdpReplicaTaskSession"
    creation_time:
      description: "When the session started, ISO 8601 in UTC with six fraction digits."
      type: str
      returned: always
      sample: "2026-11-20T06:00:11.263000Z"
    end_time:
      description: "When the session ended, same form; V(null) while it is still running."
      type: str
      returned: always
      sample: "2026-11-20T06:04:06.110000Z"
    duration_seconds:
      description: "Seconds from start to end; V(null) while running."
      type: float
      returned: always
      sample: 235.0
    state:
      description: "State of the task session."
      type: str
      returned: always
      sample: "Completed"
    result:
      description: "Result of the session; V(None) while it is still running."
      type: str
      returned: always
      sample: "Success"
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
    vm_name:
      description: "Name of the VM the task protects."
      type: str
      returned: always
      sample: "virt03-ubuntu01"
    policy_session_uid:
      description: "UID of the CDP policy session the task belongs to."
      type: str
      returned: always
      sample: "urn:veeam:CdpReplicaSession:30a2b685-f858-4f15-9ef6-d3b007a99d2d"
    policy_session_name:
      description: "Name of that CDP policy session."
      type: str
      returned: always
      sample: "CDP Policy 1@2026-11-20 15:00:08"
    reason:
      description: "Why the task ended with a warning or failure; V(null) when there is none."
      type: str
      returned: always
      sample: "Snapshot creation failed"
    total_size:
      description: "Size in bytes the task processed."
      type: int
      returned: always
      sample: 8589934592
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
    latest_per_vm=dict(type="bool", default=False),
    vm_name=dict(type="list", elements="str"),
    policy_session_uid=dict(type="str"),
    policy_session_name=dict(type="str"),
)

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opsbox.veeam_em.plugins.module_utils._info import info_argument_spec, run_info_module


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(MODULE_OPTIONS), supports_check_mode=True)
    run_info_module(module, "cdp_task_session_info")


if __name__ == "__main__":
    main()
