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

import gc


class FrozenBeforeFork:
    """Each task runs in a worker forked from the controller. Python's collector, run in the
    worker, walks every object the worker inherited, and touching them copies the controller's
    memory page by page (copy-on-write): ~0.8 s of a 12.5 s production rerun (interleaved runs,
    `make bench`'s rerun). gc.freeze() before each fork moves the controller's objects out of the
    collector's reach (Python's documented remedy); the controller's memory stays as it was
    (79 MB at most, measured with and without)."""

    def _queue_task(self, *args, **kwargs):
        gc.freeze()
        return super()._queue_task(*args, **kwargs)


try:
    import ansible_mitogen.loaders
    import ansible_mitogen.planner
    import ansible_mitogen.strategy
except ImportError:
    from ansible.plugins.strategy.linear import StrategyModule as LinearStrategyModule

    class StrategyModule(FrozenBeforeFork, LinearStrategyModule):
        """Ansible's linear strategy."""
else:
    import ansible.collections.list

    # mitogen's planner lists every installed collection (reading each one's metadata) before
    # each task that runs a collection's module, in the worker forked for that task, so its
    # cache never outlives the task: ~40 ms per task with the `ansible` package's ~100
    # collections, 4 s of a production rerun (py-spy). The list is the same for the whole run:
    # made once here, in the controller, before any worker forks.
    _COLLECTION_DIRS = []

    def _load_collections(invocation):
        if not _COLLECTION_DIRS:
            _list_collection_dirs()
        invocation._extra_sys_paths.update(_COLLECTION_DIRS)  # pylint: disable=protected-access

    def _list_collection_dirs():
        _COLLECTION_DIRS[:] = [p.decode("utf-8") for p in ansible.collections.list.list_collection_dirs()]

    ansible_mitogen.planner._load_collections = _load_collections  # pylint: disable=protected-access

    class StrategyModule(FrozenBeforeFork, ansible_mitogen.strategy.StrategyMixin,
                         ansible_mitogen.loaders.strategy_loader.get("linear", class_only=True)):
        """mitogen_linear, as ansible_mitogen/plugins/strategy/mitogen_linear.py defines it."""

        def run(self, *args, **kwargs):
            _list_collection_dirs()
            return super().run(*args, **kwargs)
