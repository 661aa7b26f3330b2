"""moto's server, with the named fixes that make it answer as AWS does.

Started by scripts/emulator.py instead of the plain `moto_server`. The fixes live in
scripts/emulator_fixes/, one module per service; the product never changes what it sends.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_fixes import all_fixes  # noqa: E402
from moto.server import main  # noqa: E402

if __name__ == "__main__":
    for fix in all_fixes():
        fix()
    sys.exit(main(sys.argv[1:]))
