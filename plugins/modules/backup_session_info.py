#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_session_info
short_description: Read backup job sessions from Veeam Backup Enterprise Manager
version_added: 1.0.0
description:
  - "Returns backup job sessions (EM type C(BackupJobSession)) selected by the options below."
  - "Enterprise Manager does the filtering, sorting and paging; only the matching sessions are transferred."
author:
  - opsbox.veeam_em contributors (@opsbox)
options:
  job_name:
    description:
      - Keep sessions of these backup jobs.
    type: list
    elements: str
  job_type:
    description:
      - Keep sessions of jobs of these types, as Enterprise Manager names them, for example C(Backup), C(BackupCopy),
        C(AgentBackup) or C(NasBackup).
    type: list
    elements: str
  is_retry:
    description:
      - V(true) keeps only retry sessions, V(false) only first runs. Both when not set.
    type: bool
extends_documentation_fragment:
  - opsbox.veeam_em.connection
  - opsbox.veeam_em.info
"""

EXAMPLES = r"""
- name: Backup sessions of one job in the last week
  opsbox.veeam_em.backup_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    job_name: [Daily SQL]
    created_after: 7d
  register: backups

- name: The newest run of every backup job that is not a retry
  opsbox.veeam_em.backup_session_info:
    url: "{{ veeam_em_url }}"
    username: "{{ veeam_em_username }}"
    password: "{{ veeam_em_password }}"
    ca_path: "{{ veeam_em_ca_path }}"
    latest: true
    is_retry: false
"""

RETURN = r"""
backup_sessions:
  description: The backup job sessions, newest first unless O(sort=oldest_first).
  type: list
  elements: dict
  returned: always
  contains:
    uid:
      description: "Enterprise Manager UID of the session."
      type: str
      returned: always
      sample: "urn:veeam:BackupJobSession:821cc74e-9447-40b6-a2df-90aa47101233"
    id:
      description: "The GUID part of the UID, usable with O(id)."
      type: str
      returned: always
      sample: "3ae6d70c-e13f-4ee5-9da6-8920369ced66"
    name:
      description: "Session name as Enterprise Manager shows it."
      type: str
      returned: always
      sample: "Daily SQL@2026-11-20 22:00:04"
    type:
      description: "Enterprise Manager type of the record."
      type: str
      returned: always
      sample: "BackupJobSession"
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
      description: "State of the session."
      type: str
      returned: always
      sample: "Stopped"
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
    job_uid:
      description: "UID of the job."
      type: str
      returned: always
      sample: "urn:veeam:Job:1aa9734e-60e1-4fb6-87df-bbaa9bf38de8"
    job_name:
      description: "Name of the job."
      type: str
      returned: always
      sample: "Daily SQL"
    job_type:
      description: "Type of the job."
      type: str
      returned: always
      sample: "Backup"
    is_retry:
      description: "Whether the session is a retry of a failed run."
      type: bool
      returned: always
      sample: false
    progress:
      description: "Progress in percent."
      type: int
      returned: always
      sample: 100
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
    job_name=dict(type="list", elements="str"),
    job_type=dict(type="list", elements="str"),
    is_retry=dict(type="bool"),
)

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.opsbox.veeam_em.plugins.module_utils._info import info_argument_spec, run_info_module


def main():
    module = AnsibleModule(argument_spec=info_argument_spec(MODULE_OPTIONS), supports_check_mode=True)
    run_info_module(module, "backup_session_info")


if __name__ == "__main__":
    main()
