"""moto's server, with the named fixes that make it answer as AWS does.

Started by scripts/emulator.py instead of the plain `moto_server`. The fixes live in
scripts/emulator_fixes/, one module per service; the product never changes what it sends.
With STREAM_SALES_FRONT_PORT set, the same process also serves the front door on that port
(scripts/fault_front.py: keep-alive, and faults when configured) beside moto's own port.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from emulator_fixes import all_fixes  # noqa: E402
from moto.server import main  # noqa: E402

if __name__ == "__main__":
    for fix in all_fixes():
        fix()
    if os.environ.get("STREAM_SALES_FRONT_PORT"):
        import fault_front
        from emulator_fixes import clock
        from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

        fault_front.serve("127.0.0.1", int(os.environ["STREAM_SALES_FRONT_PORT"]),
                          DomainDispatcherApplication(create_backend_app),
                          Path(os.environ.get("STREAM_SALES_STATE_DIR", ".")), fault_front.from_environment(),
                          controls={"clock": clock.control})
    sys.exit(main(sys.argv[1:]))
