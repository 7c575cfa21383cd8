"""A clock for tests of waits: ``clock()`` reads it, ``clock.sleep(s)`` moves it on without sleeping."""


class FakeClock:
    def __init__(self, now=0.0):
        self.now = now

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds
