"""hypha_rpc's client events (on/off/once/emit) over the bridge.

Handlers live here, in the app. The worker listens on the app's Hypha connection once per event name and
passes each event on as an `event` message; handlers then run in arrival order: coroutine handlers on the
app's loop (else the bridge's), plain ones on one dispatch thread (so they may block on server calls).
"""
import concurrent.futures
import sys
import threading
import traceback


class EventHub:
    def __init__(self, peer):
        self._peer = peer
        self._lock = threading.Lock()
        self._handlers = {}
        self._once = set()
        self._dispatch = None

    # ---- registration (what server.on/off/once do) ------------------------------------------------
    def on(self, event, handler):
        if not isinstance(event, str) or not event:
            raise ValueError("on: the event name must be a non-empty string, e.g. server.on('my-event', handler)")
        if not callable(handler):
            raise TypeError("on: the handler must be callable, got %s" % type(handler).__name__)
        with self._lock:
            first = event not in self._handlers
            self._handlers.setdefault(event, []).append(handler)
        if first:
            self._tell_worker("listen", event)

    def once(self, event, handler):
        def run_once(data):
            return handler(data)

        run_once.__name__ = getattr(handler, "__name__", "handler")
        with self._lock:
            self._once.add(run_once)
        self.on(event, run_once)

    def off(self, event=None, handler=None):
        """As hypha_rpc: no arguments drop every handler, an event alone drops that event's handlers."""
        with self._lock:
            if event is None and handler is None:
                emptied = list(self._handlers)
                self._handlers.clear()
            elif handler is None:
                emptied = [event] if self._handlers.pop(event, None) is not None else []
            else:
                handlers = self._handlers.get(event, [])
                if handler in handlers:
                    handlers.remove(handler)
                emptied = [event] if event in self._handlers and not handlers else []
                if emptied:
                    del self._handlers[event]
        for name in emptied:
            self._tell_worker("unlisten", name)

    def reset(self):
        """Forgets every handler without telling the worker (its listeners went with the connection)."""
        with self._lock:
            self._handlers.clear()
            self._once.clear()

    def _tell_worker(self, kind, event):
        future = self._peer.request({"t": kind, "event": event})

        def report(f):
            if f.exception() is not None:
                sys.stderr.write("hypha bridge: %s(%r) failed: %s\n" % (kind, event, f.exception()))

        future.add_done_callback(report)

    # ---- delivery ---------------------------------------------------------------------------------
    def fire(self, event, data):
        """Runs the handlers of `event` with `data` (events from the worker, or emit() without "to")."""
        with self._lock:
            handlers = list(self._handlers.get(event, ()))
            for handler in handlers:
                if handler in self._once:
                    self._once.discard(handler)
                    self._handlers[event].remove(handler)
        import inspect

        for handler in handlers:
            if inspect.iscoroutinefunction(handler):
                self._schedule(handler(data), event)
            else:
                self._dispatcher().submit(self._run_plain, handler, data, event)

    def _run_plain(self, handler, data, event):
        try:
            result = handler(data)
        except Exception:
            self._report(event)
            return
        import inspect

        if inspect.isawaitable(result):
            self._schedule(result, event)

    def _schedule(self, awaitable, event):
        import asyncio

        async def run():
            try:
                await awaitable
            except Exception:
                self._report(event)

        asyncio.run_coroutine_threadsafe(run(), self._peer.coroutine_loop())

    def _dispatcher(self):
        with self._lock:
            if self._dispatch is None:
                self._dispatch = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hypha-bridge-events")
            return self._dispatch

    @staticmethod
    def _report(event):
        sys.stderr.write("hypha bridge: a handler of event %r failed:\n%s" % (event, traceback.format_exc()))


_hub = {"hub": None}


def get_hub(peer):
    """The process-wide hub: the app has one Hypha client, whichever server object it holds."""
    if _hub["hub"] is None:
        _hub["hub"] = EventHub(peer)
    return _hub["hub"]
