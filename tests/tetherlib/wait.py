"""Polling for what tetherd writes after it answers (state after a commit, a revert after a
timeout): tests wait for it instead of sleeping."""

from __future__ import annotations

import time


def eventually(read, ok, timeout: float = 10.0, interval: float = 0.05):
    """`read()` until `ok` holds of what it returns; that value. Fails after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        out = read()
        if ok(out):
            return out
        assert time.monotonic() < deadline, f"never held; last read: {str(out)[:2000]}"
        time.sleep(interval)
