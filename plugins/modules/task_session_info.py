#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: task_session_info
short_description: Read backup and replication task sessions (one per VM) from Veeam Backup Enterprise Manager
version_added: 1.0.0
description:
  - "Returns task sessions, the per-VM part of a job session: replication task sessions (EM type C(ReplicaTaskSession)),"
  - "backup task sessions (C(BackupTaskSession)) or both, selected by the options below."
  - "Enterprise Manager does the filtering, sorting and paging; only the matching sessions are transferred."
author:
  - opsbox.veeam_em contributors (@opsbox)
options:
  session_type:
    description:
      - Which task sessions to read. With V(all) both kinds are read and merged by creation time;
        every record says which kind it is in RV(task_sessions[].session_type).
    type: str
    choices: [replica, backup, all]
    default: all
  vm_name:
    description:
      - Keep task sessions of these VMs (the name Enterprise Manager shows).
    type: list
    elements: str
  job_name:
    description:
      - Keep task sessions of these jobs.
    type: list
    elements: str
  job_session_uid:
    description:
      - Keep the task sessions of this job session (its UID, as in RV(task_sessions[].job_session_uid)).
    type: str
  latest_per_vm:
    description:
      - Return, per VM (backup server and VM name) and kind of task session, only the task sessions that say how its latest runs went,
        that is its newest task session of the window, its newest completed one and its newest successful one
        (one to three records, deduplicated, newest first). This is what
        P(opsbox.veeam_em.compliance_evaluate#filter) needs, read with far fewer records than the whole window
        (the newest runs of every job first, older task sessions only for VMs that still miss one of the three).
      - Needs O(created_after) (the window starts there; it ends at O(created_before), default now).
      - Combines with O(created_after), O(created_before), O(backup_server), O(job_name) and O(session_type).
        Any other selecting option (O(id), O(name), O(result), O(state), O(filter), O(latest), O(limit),
        O(sort=oldest_first), O(vm_name), O(job_session_uid)) is refused before anything is read.
    type: bool
    default: false
extends_documentation_fragment:
  - opsbox.veeam_em.connection
  - opsbox.veeam_em.info
"""

EXAMPLES = r"""
- name: Replication tasks that failed or warned in the last 24 hours
  opsbox.veeam_em.task_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    session_type: replica
    result: [Failed, Warning]
    created_after: 24h
  register: problems

- name: The last backup and the last replica of two VMs
  opsbox.veeam_em.task_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    vm_name: [sql-02, web-01]
    latest: true

- name: Per VM, the newest, newest completed and newest successful replication task of the last 7 days
  opsbox.veeam_em.task_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    session_type: replica
    latest_per_vm: true
    created_after: 7d
  register: replica_latest
"""

RETURN = r"""
task_sessions:
  description: The task sessions, newest first unless O(sort=oldest_first); with O(latest_per_vm), one to three per VM.
  type: list
  elements: dict
  returned: always
  contains:
    uid:
      description: "Enterprise Manager UID of the task session."
      type: str
      returned: always
      sample: "urn:veeam:ReplicaTaskSession:809564f0-d2e7-4ee2-af2f-06d385138be2"
    id:
      description: "The GUID part of RV(task_sessions[].uid), usable with O(id)."
      type: str
      returned: always
      sample: "809564f0-d2e7-4ee2-af2f-06d385138be2"
    name:
      description: "Task session name as Enterprise Manager shows it."
      type: str
      returned: always
      sample: "sql-02@2026-11-20 06:00:27"
    type:
      description: "Enterprise Manager type of the record."
      type: str
      returned: always
      sample: "ReplicaTaskSession"
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
      description: "Result of the task session; V(None) while it is still running."
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
      description: "Name of the VM the task processed."
      type: str
      returned: always
      sample: "sql-02"
    vm_uid:
      description: "UID of the VM, when Enterprise Manager gives it (backup tasks)."
      type: str
      returned: always
      sample: "urn:VMware:Vm:a87d15db-dd70-4769-acd6-41bae88219d4.vm-91826"
    job_session_uid:
      description: "UID of the job session the task belongs to."
      type: str
      returned: always
      sample: "urn:veeam:ReplicaJobSession:3ae6d70c-e13f-4ee5-9da6-8920369ced66"
    job_session_name:
      description: "Name of that job session."
      type: str
      returned: always
      sample: "Replication Job 1@2026-11-20 06:00:11"
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
    session_type:
      description: "Which kind of task session this is: V(replica) or V(backup)."
      type: str
      returned: always
      sample: "replica"
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
    session_type=dict(type="str", choices=["replica", "backup", "all"], default="all"),
    vm_name=dict(type="list", elements="str"),
    job_name=dict(type="list", elements="str"),
    job_session_uid=dict(type="str"),
)

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opsbox.veeam_em.plugins.module_utils._info import info_argument_spec, run_info_module


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(MODULE_OPTIONS), supports_check_mode=True)
    run_info_module(module, "task_session_info")


if __name__ == "__main__":
    main()
