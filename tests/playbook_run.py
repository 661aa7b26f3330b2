"""A playbook run's result as the tests read it, shared by tests/integration and tests/chaos
(tests/ is on sys.path: pytest puts the folder of tests/conftest.py there)."""
from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass
class Run:
    rc: int
    out: str

    @property
    def recap(self) -> dict:
        """Counts from the PLAY RECAP line (summed over hosts)."""
        counts: dict = {}
        for m in re.finditer(r"^\S+\s+: ((?:\w+=\d+\s*)+)$", self.out, re.M):
            for key, val in re.findall(r"(\w+)=(\d+)", m.group(1)):
                counts[key] = counts.get(key, 0) + int(val)
        return counts

    @property
    def changed(self) -> int:
        return self.recap.get("changed", -1)
