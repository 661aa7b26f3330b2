# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The repo's strategy (ansible.cfg): mitogen's linear strategy when mitogen is installed, as it
is in the repo's venv (requirements.txt), else Ansible's own linear strategy.

mitogen halves the cost of each task (`make bench`); it is an accelerator of the repo's own
runs only: the collection does not need it, and an execution environment or AWX runs the plain
strategy. `ANSIBLE_STRATEGY=linear` (or `make ... MITOGEN=0`) runs plain Ansible here too.
"""
from __future__ import annotations

try:
    import ansible_mitogen.loaders
    import ansible_mitogen.strategy
except ImportError:
    from ansible.plugins.strategy.linear import StrategyModule  # noqa: F401  pylint: disable=unused-import
else:
    class StrategyModule(ansible_mitogen.strategy.StrategyMixin,
                         ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)):
        """mitogen_linear, as ansible_mitogen/plugins/strategy/mitogen_linear.py defines it."""
