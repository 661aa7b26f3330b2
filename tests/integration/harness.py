"""What the integration tests share besides fixtures: paths, a playbook run's result, resetting
the emulator. A module of its own (not conftest) so that test files import it unambiguously."""
from __future__ import annotations

import urllib.request
from pathlib import Path

from playbook_run import Run  # noqa: F401 pylint: disable=unused-import

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = ROOT / ".venv" / "bin" / "ansible-playbook"


def reset_emulator(endpoint: str) -> None:
    req = urllib.request.Request(endpoint + "/moto-api/reset", method="POST")
    urllib.request.urlopen(req, timeout=30).read()
