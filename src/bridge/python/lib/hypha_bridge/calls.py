"""Running the app's functions for calls from the worker or from the app's own socket, and sending their
answers: coroutine functions on the app's loop (or the bridge's), quick sync functions on the reading
thread (leader.py), the rest on a small thread pool. Mixed into Peer."""
import sys
import threading
import time

from .codec import format_app_traceback


class CallRunner:
    def call_direct(self, fid, args, kwargs, make_sink):
        """Runs app function `fid` for a call that arrived on the app's own socket; its answer goes to the
        sink that make_sink() returns. False when `fid` is gone (then the worker's hypha-rpc takes the call),
        work (a callable) for the socket's reading thread to run itself (a quick sync function), else True."""
        fn = self.table.get(fid)
        if fn is None:
            return False
        work = self._dispatch_call({"t": "call", "fn": fid, "_sink": make_sink()}, fn, fid, args, kwargs, True)
        return True if work is None else work

    def _dispatch_call(self, message, fn, fid, args, kwargs, may_inline):
        # Only sync functions that returned quickly are marked fast (leader.py), so that test comes first.
        if may_inline and self.channel.leadership.may_inline(fid):
            return lambda: self._run_sync(message, fn, args, kwargs, fid)
        import inspect  # cached in sys.modules after the first call

        if inspect.iscoroutinefunction(fn):
            self._run_coroutine(message, fn(*args, **kwargs))
        else:
            self._pool.submit(self._run_sync, message, fn, args, kwargs, fid)
        return None

    def _run_sync(self, message, fn, args, kwargs, fid=None):
        import inspect

        started = time.perf_counter()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self.channel.leadership.record(fid, time.perf_counter() - started)
            self._reply_exception(message, exc)
            return
        self.channel.leadership.record(fid, time.perf_counter() - started)
        if inspect.isawaitable(result):
            self._run_coroutine(message, result)
        else:
            self._reply_ok(message, result)

    def _run_coroutine(self, message, awaitable):
        import asyncio

        async def wrapper():
            return await awaitable

        future = asyncio.run_coroutine_threadsafe(wrapper(), self.coroutine_loop())

        def done(f):
            if f.cancelled():
                self._reply_error(message, "CancelledError", "the call was cancelled", "")
            elif f.exception() is not None:
                self._reply_exception(message, f.exception())
            else:
                self._reply_ok(message, f.result())

        future.add_done_callback(done)

    def coroutine_loop(self):
        """The app's own loop while it runs (async apps), else the bridge's loop thread."""
        home = self.home_loop
        if home is not None and home.is_running() and not home.is_closed():
            return home
        with self._loop_lock:
            if self._loop is None:
                import asyncio

                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="hypha-bridge-loop", daemon=True).start()
            return self._loop

    def _reply_ok(self, message, value):
        sink = message.get("_sink")
        if sink is not None:
            return sink.ok(value)
        if message.get("id") is None:
            return
        blobs = []
        try:
            encoded = self.codec.encode(value, blobs)
        except Exception as exc:
            self._reply_exception(message, exc)
            return
        try:
            self.channel.send({"t": "ok", "id": message["id"], "v": encoded}, blobs)
        except ConnectionError:
            pass
        except Exception as exc:  # e.g. a result too large for one message: the caller gets the error
            self._reply_exception(message, exc)

    def _reply_exception(self, message, exc):
        tb = "".join(format_app_traceback(exc))
        self._reply_error(message, type(exc).__name__, str(exc), tb)

    def _reply_error(self, message, etype, text, tb):
        sink = message.get("_sink")
        if sink is not None:
            return sink.error(etype, text, tb)
        if message.get("id") is None or message.get("t") in ("ok", "err"):
            sys.stderr.write("hypha bridge: %s: %s\n" % (etype, text))
            return
        self.notify({"t": "err", "id": message["id"], "e": {"type": etype, "message": text, "traceback": tb}})
