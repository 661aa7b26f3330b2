# -*- coding: utf-8 -*-
# Copyright: Stream Sales platform team
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for AWS's eventual consistency without a fixed sleep.

AWS's EC2 API is eventually consistent: an object just created, or a route or rule just
added, may take a moment to show in Describe calls. Instead of sleeping a fixed time after
every change (as amazon.aws's route table and security group modules do), poll until the
expected state is seen: the first look is immediate, so a consistent API costs no wait.
"""

from __future__ import annotations

import time


def wait_until(fetch, ready, timeout=60, first_delay=0.25, max_delay=5):
    """Call fetch() until ready(value) holds or timeout seconds pass; (value, seen).

    The first call is immediate; later ones back off from first_delay up to max_delay.
    fetch() may return None (not visible yet); ready() is only asked about what fetch returned.
    """
    deadline = time.monotonic() + timeout
    delay = first_delay
    while True:
        value = fetch()
        if ready(value):
            return value, True
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return value, False
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, max_delay)
