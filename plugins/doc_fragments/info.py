# -*- coding: utf-8 -*-
# Copyright: (c) 2026, opsbox.veeam_em contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment:
    """Selection options and attributes shared by every *_info module."""

    DOCUMENTATION = r"""
options:
  id:
    description:
      - Read exactly one session, by its bare GUID (C(3ae6d70c-e13f-4ee5-9da6-8920369ced66)) or its UID
        (C(urn:veeam:ReplicaJobSession:3ae6d70c-e13f-4ee5-9da6-8920369ced66)); a UID must be of a type this module reads.
      - An id Enterprise Manager does not know returns an empty list, not a failure.
      - Cannot be combined with the options that select sessions (O(name), O(result), O(created_after), ...).
    type: str
  name:
    description:
      - Session name, compared by Enterprise Manager without regard to case, for example C(Replication Job 1@2026-11-20 06:00:11).
    type: str
  backup_server:
    description:
      - Name of the backup server the sessions ran on, as Enterprise Manager knows it.
    type: str
  result:
    description:
      - Keep sessions with one of these results. Case does not matter.
      - V(None) is the result of a session that is still running.
    type: list
    elements: str
  state:
    description:
      - Keep sessions in one of these states. Case does not matter.
      - Job and CDP policy sessions are V(Starting), V(Stopping), V(Working), V(Pausing), V(Resuming) or V(Stopped);
        task sessions are V(InProgress), V(Pending) or V(Completed).
    type: list
    elements: str
  created_after:
    description:
      - Keep sessions created at or after this moment.
      - An ISO 8601 date or date-time (C(2026-11-20), C(2026-11-20T06:00:00Z); a value without a zone is UTC),
        or an age counted back from now, such as C(90m), C(24h), C(7d) or C(2w).
    type: str
  created_before:
    description:
      - Keep sessions created at or before this moment. Same forms as O(created_after), which must not be later.
    type: str
  filter:
    description:
      - A raw Enterprise Manager filter expression, ANDed with the other options, for what they do not cover,
        for example C(TotalSize>1073741824) or C((Reason=="Timeout",Reason=="Snapshot failed")).
      - Field names are Enterprise Manager's query fields for the session type. A filter Enterprise Manager
        rejects makes the task fail with its message.
    type: str
  latest:
    description:
      - Keep only the newest session per job (job sessions), per VM (task sessions) or per policy (CDP policy sessions).
      - The newest is chosen among the sessions the other options select, across retries.
    type: bool
    default: false
  limit:
    description:
      - Return at most this many sessions, the newest first unless O(sort=oldest_first).
      - Without O(latest) Enterprise Manager stops sending pages once the limit is reached.
    type: int
  sort:
    description:
      - Order of the returned sessions, by creation time.
    type: str
    choices: [newest_first, oldest_first]
    default: newest_first
attributes:
  check_mode:
    description: The module only reads; it runs normally in check mode and returns the same result.
    support: full
  diff_mode:
    description: Nothing changes, so there is no diff.
    support: none
notes:
  - All selection happens in Enterprise Manager's query service; only the matching sessions travel.
"""
