# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The variables this collection declares, and the ones a run sets that nobody declares.

A typo in a variable name (``-e aurora_max_acu=6`` for ``aurora_max_capacity``) is silently
ignored by Ansible: the deploy succeeds and nothing changes. Preflight refuses it instead:
every variable of the run carrying one of our prefixes (a role's name, or a playbook's:
migrate_, rotate_, app_, stream_sales_, aws_, ...) must be declared - an option of a role's
argument spec (any entry point, the preflight role's ``playbooks`` entry point listing the
playbooks' own variables), a role's default or internal variable, or a name a role registers
or sets as a fact. Extra vars without our prefixes are refused only when they are a near miss
of a declared name (``-e deletion_protecton=true``).
"""

from __future__ import annotations

import difflib
import os
import re

from ansible.module_utils.common.yaml import yaml_load

# Prefixes of the playbooks' own variables, besides the roles' names.
PLAYBOOK_PREFIXES = ("stream_sales", "aws", "app", "migrate", "migration", "rotate", "rotation", "database",
                     "approve", "approval", "cost", "drift")
# Set by Ansible, or by ansible-playbook's options.
ANSIBLE_NAMES = re.compile(r"^(ansible_.*|inventory_.*|group_names|groups|hostvars|omit|play_hosts|playbook_dir|"
                           r"role_.*|environment|vars|molecule_.*)$")


def _load_yaml(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return yaml_load(handle) or {}
    except (OSError, ValueError):
        return {}


def _task_names(tasks, names):
    """Names a task file registers or sets as facts (blocks included)."""
    for task in tasks or []:
        if not isinstance(task, dict):
            continue
        if isinstance(task.get("register"), str):
            names.add(task["register"])
        for key in ("ansible.builtin.set_fact", "set_fact"):
            if isinstance(task.get(key), dict):
                names.update(k for k in task[key] if k != "cacheable")
        for section in ("block", "rescue", "always"):
            _task_names(task.get(section), names)


class Catalog:
    """Every variable name declared by the collection under root (its roles/ folder)."""

    def __init__(self, root):
        self.options = {}  # name -> its argument spec (the first one seen)
        self.internal = set()  # defaults, vars, registered names and facts of the roles
        self.roles = []
        roles_dir = os.path.join(root, "roles")
        for role in sorted(os.listdir(roles_dir)) if os.path.isdir(roles_dir) else []:
            path = os.path.join(roles_dir, role)
            if not os.path.isdir(path):
                continue
            self.roles.append(role)
            specs = _load_yaml(os.path.join(path, "meta", "argument_specs.yml")).get("argument_specs") or {}
            for entry in specs.values():
                for name, spec in ((entry or {}).get("options") or {}).items():
                    self.options.setdefault(name, spec or {})
            for sub in ("defaults", "vars"):
                data = _load_yaml(os.path.join(path, sub, "main.yml"))
                if isinstance(data, dict):
                    self.internal.update(data)
            tasks_dir = os.path.join(path, "tasks")
            for name in sorted(os.listdir(tasks_dir)) if os.path.isdir(tasks_dir) else []:
                if name.endswith((".yml", ".yaml")):
                    _task_names(_load_yaml(os.path.join(tasks_dir, name)) or [], self.internal)
        self.prefixes = tuple(sorted(set(self.roles) | set(PLAYBOOK_PREFIXES), key=len, reverse=True))
        self._prefix_re = re.compile(r"^(%s)_" % "|".join(re.escape(p) for p in self.prefixes))

    def declared(self, name):
        return name in self.options or name in self.internal

    def ours(self, name):
        return bool(self._prefix_re.match(name))

    def closest(self, name, cutoff=0.6):
        """The declared option most like name, preferring those with the same prefix."""
        options = sorted(self.options)
        match = self._prefix_re.match(name)
        if match:
            same = [o for o in options if o.startswith(match.group(0))]
            found = difflib.get_close_matches(name, same, n=1, cutoff=cutoff)
            if found:
                return found[0]
        found = difflib.get_close_matches(name, options, n=1, cutoff=cutoff)
        return found[0] if found else None

    def unknown_errors(self, names, extra_vars):
        """Messages for the run's undeclared variables (names: all of the run; extra_vars: the -e ones)."""
        errors = []
        extra = set(extra_vars or ())
        for name in sorted(set(names) | extra):
            if self.declared(name) or ANSIBLE_NAMES.match(name):
                continue
            where = "-e" if name in extra else "inventory or play"
            if self.ours(name):
                hint = self.closest(name)
                errors.append(
                    "%s (%s) is declared by no role or playbook of this collection, so it would be ignored%s" % (
                        name, where, "; did you mean %s?" % hint if hint else
                        "; see the argument specs (roles/*/meta/argument_specs.yml) for the variables."))
            elif name in extra:
                hint = self.closest(name, cutoff=0.85)
                if hint:
                    errors.append("%s (-e) is declared nowhere and would be ignored; did you mean %s?" % (name, hint))
        return errors

    def duration_errors(self, values):
        """Durations (int options named *_seconds, *_timeout, *_days) must not be negative."""
        errors = []
        for name, value in sorted((values or {}).items()):
            spec = self.options.get(name) or {}
            if spec.get("type") not in ("int", "float") or value in (None, ""):
                continue
            try:
                number = float(value)
            except (TypeError, ValueError):
                continue  # the argument spec check names it
            if number < 0:
                errors.append("%s is %s; allowed: 0 or more (%s)." % (name, value, "seconds" if "second" in name or "timeout" in name else "days"))
        return errors
