# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_pid
type: aggregate
short_description: Lets this collection's modules stop when the ansible-playbook running them dies
version_added: 0.1.0
description:
  - Records the process id and start time of the ansible-playbook process in the environment
    variable E(STREAM_SALES_CONTROLLER), before any worker is forked. Workers, and the modules
    they run, inherit it.
  - The modules of this collection end themselves as soon as that process is gone (a C(kill -9)
    of ansible-playbook), instead of calling AWS until their current wait is over. Without this
    callback they find the process among their ancestors, which fails when the kill happens
    while a module is still starting.
  - The processes ansible-playbook forks (its workers, and mitogen's multiplexer) are killed
    when it dies (Linux C(PR_SET_PDEATHSIG)). Measured without this, after a C(kill -9) under
    mitogen's strategy, a worker blocked forever writing its result into a pipe that only the
    orphaned multiplexer held, and the multiplexer waited forever on a socket the worker held.
  - Prints nothing.
requirements:
  - Enabled in C(callbacks_enabled) (the collection's ansible.cfg does).
author:
  - Stream Sales platform team (@stream-sales)
"""

import ctypes
import os
import signal
import sys

from ansible.plugins.callback import CallbackBase

PR_SET_PDEATHSIG = 1


def _start_time(pid):
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[19].decode()
    except (OSError, IndexError):
        return ""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "stream_sales.platform.controller_pid"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        pid = os.getpid()
        os.environ["STREAM_SALES_CONTROLLER"] = "%d:%s" % (pid, _start_time(pid))
        if sys.platform.startswith("linux"):
            os.register_at_fork(after_in_child=lambda: _die_with(pid))


def _die_with(controller):
    """In a process forked by the controller itself: be killed when the controller dies."""
    if os.getppid() != controller:
        return  # forked deeper down (a worker's own children): their parent watches them
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != controller:  # it died between the fork and the prctl
        os._exit(1)
