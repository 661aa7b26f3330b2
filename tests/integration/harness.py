"""What the integration tests share besides fixtures: paths, a playbook run's result, resetting
the emulator. A module of its own (not conftest) so that test files import it unambiguously."""
from __future__ import annotations

import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"


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


def reset_emulator(endpoint: str) -> None:
    req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=30).read()
