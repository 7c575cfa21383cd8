"""Rate limits as the clouds report them in their answers' headers.

``Bucket`` is Hetzner's (a token bucket); ``Window`` is Linode's (a count per fixed window).

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


class Window:
    """``limit`` requests per fixed window of ``period`` seconds; ``reset`` is the window's end (UNIX time).

    A ``rate_limit`` fault spends the rest of the window and makes it end after the fault's ``retry_after``.
    """

    def __init__(self, limit=800, period=60.0, clock=time.time):
        self.limit = limit
        self.period = period
        self.clock = clock
        self.lock = threading.Lock()
        self.used = 0
        self.ends = clock() + period

    def spend(self, fault=None):
        """``(limit, remaining, reset)`` after this answer."""
        with self.lock:
            now = self.clock()
            if now >= self.ends:
                self.used, self.ends = 0, now + self.period
            if fault is not None:
                self.used, self.ends = self.limit, now + fault.retry_after
            else:
                self.used = min(self.limit, self.used + 1)
            return self.limit, self.limit - self.used, int(self.ends + 0.999)
