# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A module calls AWS only while the ansible-playbook that started it is alive.

Measured (kill -9 of ansible-playbook in the middle of a teardown): Ansible's workers run in
sessions of their own and mitogen's contexts outlive their parent until their current task
ends, so a module that waits (a distribution being disabled, a cluster being deleted) kept
polling and then deleted what it was waiting for, minutes after the run was gone, with plain
Ansible and with mitogen alike. A rerun started meanwhile would race it.

exit_with_controller() starts one daemon thread per process that ends this process as soon as
the controller is gone. The controller is the process named by STREAM_SALES_CONTROLLER (set by
the collection's controller_pid callback in ansible-playbook itself, before workers fork), else
the topmost `ansible*` process among our ancestors (ad hoc `ansible`, or the callback not
enabled; this misses a kill that happens while the module is still starting, when the worker
is already orphaned). Where /proc is missing (not Linux) it does nothing.
"""

from __future__ import annotations

import os
import sys
import threading
import time

THREAD_NAME = "stream-sales-controller-watch"


def _stat(pid):
    """(ppid, start time) of a process, or None when it is gone (or a zombie)."""
    try:
        with open("/proc/%d/stat" % pid, "rb") as f:
            data = f.read()
    except OSError:
        return None
    fields = data.rsplit(b")", 1)[1].split()
    if fields[0] in (b"Z", b"X"):
        return None
    return int(fields[1]), fields[19]


def _alive(pid, started):
    stat = _stat(pid)
    return stat is not None and stat[1] == started


def _is_ansible(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = f.read().split(b"\0")[:2]
    except OSError:
        return False
    names = [os.path.basename(a.decode("utf-8", "replace")) for a in argv]
    return any(n == "ansible" or n.startswith("ansible-") for n in names)


def _ancestors():
    pid, seen = os.getppid(), []
    for _hop in range(64):
        if pid <= 1:
            break
        stat = _stat(pid)
        if stat is None:
            break
        seen.append(pid)
        pid = stat[0]
    return seen


def controller():
    """(pid, start time) of the ansible process this module works for, or None."""
    pid, _sep, started = os.environ.get("STREAM_SALES_CONTROLLER", "").partition(":")
    if pid.isdigit():
        stat = _stat(int(pid))
        if stat is None or (started and stat[1] != started.encode()):
            return int(pid), started.encode() or b"?"  # gone before we started: stop at once
        if int(pid) in _ancestors():
            return int(pid), stat[1]
    found, pid = None, os.getppid()
    for _hop in range(64):
        if pid <= 1:
            break
        stat = _stat(pid)
        if stat is None:
            break
        if _is_ansible(pid):
            found = (pid, stat[1])
        pid = stat[0]
    return found


def exit_with_controller(interval=1.0):
    """End this process once the ansible-playbook (or ansible) above it has died."""
    if not os.path.isdir("/proc/self") or any(t.name == THREAD_NAME for t in threading.enumerate()):
        return
    found = controller()
    if found is None:
        return
    pid, started = found

    def stop():
        try:
            sys.stderr.write("ansible process %d is gone: stopping this module's AWS calls\n" % pid)
            sys.stderr.flush()
        finally:
            os._exit(1)

    if not _alive(pid, started):
        stop()

    def watch():
        while True:
            time.sleep(interval)
            if not _alive(pid, started):
                stop()

    threading.Thread(target=watch, name=THREAD_NAME, daemon=True).start()
