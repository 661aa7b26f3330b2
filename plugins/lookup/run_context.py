# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: run_context
short_description: What the history records about the run itself - versions, git commit, journal
version_added: 0.1.0
description:
  - Returns one dictionary - C(collection_version) (this collection's, from its C(MANIFEST.json) when
    installed, else its C(galaxy.yml)); C(git_commit), C(git_dirty) and C(git_root) of the first of the
    given directories that lies in a git work tree (the calling repository - its inventory, then its
    playbooks), empty when none does; C(journal), the run so far as the C(stream_sales.platform.plan)
    callback journals it (C(changes), C(failed)), empty when that callback is not enabled.
  - Runs on the controller; no AWS call.
options:
  _terms:
    description: Directories to look for a git work tree in, in order.
    type: list
    elements: str
    required: false
"""

EXAMPLES = r"""
- name: The run's context
  ansible.builtin.debug:
    msg: "{{ lookup('stream_sales.platform.run_context', inventory_dir, playbook_dir) }}"
"""

RETURN = r"""
_raw:
  description: One dictionary (collection_version, git_commit, git_dirty, git_root, journal).
  type: list
  elements: dict
"""

import json
import os
import subprocess

from ansible.module_utils.common.yaml import yaml_load
from ansible.plugins.lookup import LookupBase

JOURNAL_ENV = "STREAM_SALES_RUN_JOURNAL"
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def collection_version():
    manifest = os.path.join(ROOT, "MANIFEST.json")
    if os.path.isfile(manifest):
        with open(manifest, encoding="utf-8") as handle:
            return json.load(handle)["collection_info"]["version"]
    galaxy = os.path.join(ROOT, "galaxy.yml")
    if os.path.isfile(galaxy):
        with open(galaxy, encoding="utf-8") as handle:
            return str(yaml_load(handle).get("version", ""))
    return ""


def git(directory, *args):
    try:
        out = subprocess.run(["git", "-C", directory, *args], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def git_state(directories):
    for directory in directories:
        if directory and os.path.isdir(directory):
            commit = git(directory, "rev-parse", "HEAD")
            if commit:
                status = git(directory, "status", "--porcelain", "--untracked-files=no")
                return {"git_commit": commit, "git_dirty": bool(status), "git_root": git(directory, "rev-parse", "--show-toplevel") or ""}
    return {"git_commit": "", "git_dirty": False, "git_root": ""}


def journal():
    path = os.environ.get(JOURNAL_ENV, "")
    if path and os.path.isfile(path):
        try:
            with open(path, encoding="utf-8") as handle:
                return json.load(handle)
        except (OSError, ValueError):
            return {}
    return {}


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        context = {"collection_version": collection_version(), "journal": journal()}
        context.update(git_state([str(t) for t in terms or []]))
        return [context]
