"""hypha-rpc's heartbeats for calls that run long: one thread for all calls, asleep while none is due."""
import threading
import time


class Heartbeats:
    def __init__(self):
        self._cond = threading.Condition()
        self._due = {}  # key -> [next due time, interval, send]
        self._thread = None
        self._wake_at = None  # when the thread wakes next (None: not waiting)

    def add(self, key, interval, send):
        with self._cond:
            due = time.monotonic() + interval
            self._due[key] = [due, interval, send]
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="hypha-bridge-heartbeat", daemon=True)
                self._thread.start()
            elif self._wake_at is not None and due < self._wake_at:
                self._cond.notify()  # only when it must wake earlier: most calls end long before a beat

    def remove(self, key):
        with self._cond:
            self._due.pop(key, None)

    def _run(self):
        while True:
            with self._cond:
                now = time.monotonic()
                due = [entry for entry in self._due.values() if entry[0] <= now]
                for entry in due:
                    entry[0] = now + entry[1]
                wait = min((entry[0] for entry in self._due.values()), default=now + 60) - now
                if not due:
                    self._wake_at = now + max(wait, 0.001)
                    self._cond.wait(max(wait, 0.001))
                    self._wake_at = None
                    continue
            for entry in due:
                try:
                    entry[2]()
                except Exception:  # noqa: BLE001 (a closed socket: the call's reply fails too)
                    pass
