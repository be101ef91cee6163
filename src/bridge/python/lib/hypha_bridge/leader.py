"""Running quick sync calls on the thread that read them, without ever leaving the channel unread.

A call handed to the pool waits for a pool thread to wake up (a thread switch per call). A sync function
seen to return quickly (every run under FAST_S) is run by the reading thread itself instead. While it runs
nobody reads, so a watchdog thread hands the reading to a new thread once such a call has run SLOW_S, and
a call that waits on the worker (deliver_blocking) hands it over at once; a function that was ever slow
goes to the pool from then on. The watchdog only polls while inline calls happen (it sleeps otherwise).
"""
import threading
import time

FAST_S = 0.001
SLOW_S = 0.002
WATCH_IDLE_S = 0.1


class Leadership:
    """Who reads the channel; `start_reader(token)` starts a thread that reads as leader `token`."""

    def __init__(self, start_reader):
        self._start_reader = start_reader
        self._lock = threading.Lock()
        self._leader = None
        self._inline_since = None
        self._inline_thread = None
        self._last_inline = 0.0
        self._wake = threading.Event()
        self._watchdog = None
        self._fast = set()
        self._slow = set()
        self.closed = False

    def claim(self):
        token = object()
        with self._lock:
            self._leader = token
        return token

    def may_inline(self, fid):
        return fid in self._fast and not self.closed

    def record(self, fid, seconds):
        """Remembers how long sync function `fid` took (wherever it ran)."""
        if seconds >= FAST_S:
            self._slow.add(fid)
            self._fast.discard(fid)
        elif fid not in self._slow:
            self._fast.add(fid)

    def run_inline(self, token, work):
        """Runs `work` on the reading thread; True when this thread still leads (reads) afterwards."""
        now = time.monotonic()
        with self._lock:
            self._inline_since = now
            self._inline_thread = threading.get_ident()
            self._last_inline = now
        self._ensure_watchdog()
        try:
            work()
        finally:
            with self._lock:
                self._inline_since = None
                self._inline_thread = None
                still = self._leader is token
        return still

    def hand_off_if_inline(self):
        """Called before a blocking wait: a reading thread running a call lets another thread read."""
        with self._lock:
            if self._inline_thread != threading.get_ident():
                return
        self._hand_off()

    def _hand_off(self):
        with self._lock:
            if self._inline_since is None or self.closed:
                return
            self._inline_since = None
            self._inline_thread = None
            token = object()
            self._leader = token
        self._start_reader(token)

    def _ensure_watchdog(self):
        if self._watchdog is None:
            self._watchdog = threading.Thread(target=self._watch, name="hypha-bridge-watchdog", daemon=True)
            self._watchdog.start()
        if not self._wake.is_set():
            self._wake.set()

    def _watch(self):
        while not self.closed:
            self._wake.wait()
            while not self.closed:
                time.sleep(SLOW_S)
                now = time.monotonic()
                with self._lock:
                    since = self._inline_since
                    last = self._last_inline
                if since is not None and now - since >= SLOW_S:
                    self._hand_off()
                if since is None and now - last > WATCH_IDLE_S:
                    self._wake.clear()
                    with self._lock:
                        restarted = self._inline_since is not None or self._last_inline != last
                    if not restarted:
                        break
