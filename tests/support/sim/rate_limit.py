"""A rate-limit bucket as the clouds report it in their answers' headers.

The bucket holds ``limit`` requests and refills one every ``limit_period / limit`` seconds; every
answer spends one. A ``rate_limit`` fault empties it until the fault's ``retry_after`` has passed,
so the 429 and the answers around it carry consistent numbers. ``reset`` is the UNIX time at which
the bucket is full again (Hetzner: "when the remaining requests will be fully replenished").
"""
import threading
import time


class Bucket:
    def __init__(self, limit=3600, period=3600.0, clock=time.time):
        self.limit = limit
        self.per_request = period / limit
        self.clock = clock
        self.lock = threading.Lock()
        self.remaining = float(limit)
        self.stamp = clock()
        self.blocked_until = 0.0

    def spend(self, fault=None):
        """``(limit, remaining, reset)`` after this answer; ``fault`` (a 429) empties the bucket."""
        with self.lock:
            now = self.clock()
            self.remaining = min(self.limit, self.remaining + (now - self.stamp) / self.per_request)
            self.stamp = now
            if fault is not None:
                self.remaining, self.blocked_until = 0.0, now + fault.retry_after
            elif now >= self.blocked_until:
                self.remaining = max(0.0, self.remaining - 1)
            missing = self.limit - self.remaining
            reset = max(self.blocked_until, now + missing * self.per_request)
            return self.limit, int(self.remaining), int(reset + 0.999)
