"""The service's clock: epoch milliseconds, always UTC."""

import time


def now_ms():
    # time.time() is seconds since the epoch whatever the server's time zone.
    return time.time_ns() // 1_000_000
