"""The front door's control endpoint (/_stream_sales/<name>), for the emulator's tests."""
from __future__ import annotations

import json
import urllib.request


def control(endpoint: str, name: str, payload: dict | None = None) -> dict:
    """GET (or POST payload to) /_stream_sales/<name> on the front door."""
    data = json.dumps(payload).encode() if payload is not None else None
    req = urllib.request.Request(f"{endpoint}/_stream_sales/{name}", data=data, method="POST" if data else "GET",
                                 headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(req, timeout=10).read())
