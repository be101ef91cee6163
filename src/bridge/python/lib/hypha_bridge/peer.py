"""The Python end of the bridge: requests to the worker, and calls from the worker into app functions.

Threads: one reader, one writer (framing), a small reusable pool for sync app functions, one asyncio
loop thread for coroutines when the app's own loop is not running, one thread for execute().
"""
import concurrent.futures
import itertools
import sys
import threading

from . import PROTOCOL_VERSION
from .calls import CallRunner
from .codec import Codec, FunctionTable, watch_release
from .framing import Channel
from .remote import RemoteException, RemoteFunction

SYNC_WORKERS = 16


class Peer(CallRunner):
    def __init__(self, fd):
        self.table = FunctionTable()
        self.codec = Codec(self.table, self._make_remote)
        self.channel = Channel(fd, self._on_message, self._on_close)
        self._ids = itertools.count(1)
        self._pending = {}
        self._pending_lock = threading.Lock()
        self._pool = concurrent.futures.ThreadPoolExecutor(SYNC_WORKERS, thread_name_prefix="hypha-bridge-call")
        self._loop = None
        self._loop_lock = threading.Lock()
        self.home_loop = None
        self.method_timeout = None
        self.welcome = concurrent.futures.Future()
        self.closed = threading.Event()
        self.close_error = None
        self.executor = None  # set by the runner (execute support)
        self._sockets = None  # the app's own sockets to Hypha, made on the worker's first sock_open

    # ---- lifecycle -------------------------------------------------------------------------------
    def start(self, info):
        self.channel.start()
        self.channel.send(dict({"t": "hello", "protocol": PROTOCOL_VERSION}, **info))
        welcome = self.welcome.result(timeout=30)
        if welcome.get("protocol") != PROTOCOL_VERSION:
            raise RuntimeError("the worker speaks bridge protocol %r, this runner speaks %d; use the runner shipped "
                               "with the worker" % (welcome.get("protocol"), PROTOCOL_VERSION))
        return welcome

    def notify(self, message):
        try:
            self.channel.send(message)
        except ConnectionError:
            pass

    def _on_close(self, error):
        self.close_error = error
        self.closed.set()
        if not self.welcome.done():
            self.welcome.set_exception(ConnectionError("the worker closed the bridge channel before the handshake"))
        with self._pending_lock:
            pending = list(self._pending.values())
            self._pending.clear()
        reason = "the bridge channel to the worker closed" + (": %s" % error if error else "")
        for future in pending:
            if not future.done():
                future.set_exception(RemoteException(reason))

    # ---- requests to the worker ------------------------------------------------------------------
    def request(self, message, args=None, kwargs=None, payload=None):
        """Sends a request; returns a concurrent Future resolved by the worker's reply."""
        blobs = []
        message = dict(message)
        if args is not None:
            message["args"] = self.codec.encode(args, blobs)
        if kwargs:
            message["kw"] = self.codec.encode(kwargs, blobs)
        if payload is not None:
            message["v"] = self.codec.encode(payload, blobs)
        rid = next(self._ids)
        message["id"] = rid
        future = concurrent.futures.Future()
        with self._pending_lock:
            self._pending[rid] = future
        try:
            self.channel.send(message, blobs)
        except ConnectionError as exc:
            with self._pending_lock:
                self._pending.pop(rid, None)
            future.set_exception(RemoteException(str(exc)))
        except Exception:
            with self._pending_lock:
                self._pending.pop(rid, None)
            raise
        return future

    def deliver(self, future):
        """Awaitable inside a running event loop (async style), otherwise the blocking result (sync style)."""
        # No asyncio imported means no loop can be running; importing it eagerly costs start-up time.
        asyncio = sys.modules.get("asyncio")
        loop = None
        if asyncio is not None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                loop = None
        if loop is not None:
            return asyncio.wrap_future(future, loop=loop)
        return self.deliver_blocking(future)

    def deliver_blocking(self, future):
        """The result of a request, waiting at most method_timeout seconds (None: no limit)."""
        if not future.done():
            self.channel.leadership.hand_off_if_inline()  # the answer must be read by someone else
            if self._sockets is not None:
                self._sockets.hand_off_if_inline()
        try:
            return future.result(timeout=self.method_timeout)
        except concurrent.futures.TimeoutError:
            raise RemoteException("no answer within method_timeout=%ss; raise method_timeout in connect_to_server() "
                                  "for slow services" % self.method_timeout) from None

    def _make_remote(self, ref):
        proxy = RemoteFunction(self, ref)
        watch_release(proxy, ref["id"], self._release_remote)
        return proxy

    def _release_remote(self, fid):
        if not self.channel.closed:
            self.notify({"t": "release", "ids": [fid]})

    # ---- incoming --------------------------------------------------------------------------------
    def _on_message(self, message, blobs, may_inline=False):
        kind = message.get("t")
        try:
            if kind in ("ok", "err"):
                self._on_reply(message, blobs)
            elif kind == "call":
                return self._on_call(message, blobs, may_inline)
            elif kind == "release":
                self.table.release(message.get("ids", []))
            elif kind == "event":
                from .events import get_hub

                get_hub(self).fire(message.get("event"), self.codec.decode(message.get("v"), blobs))
            elif kind == "execute":
                self.executor.submit(message)
            elif kind == "interrupt":
                self.executor.interrupt(message.get("target"))
            elif isinstance(kind, str) and (kind.startswith("sock_") or kind == "fast_table"):
                self._socket_links().handle(message, blobs)
            elif kind == "welcome":
                self.welcome.set_result(message)
            elif kind == "reject":
                self.welcome.set_exception(RuntimeError(message.get("message", "the worker rejected the bridge")))
            else:
                self._reply_error(message, "BridgeError", "unknown bridge message type %r" % kind, "")
        except Exception as exc:  # a bad message fails that call, never the reader
            import traceback

            self._reply_error(message, type(exc).__name__, str(exc), traceback.format_exc())
        return None

    def _on_reply(self, message, blobs):
        with self._pending_lock:
            future = self._pending.pop(message.get("id"), None)
        if future is None or future.done():
            return
        if message["t"] == "ok":
            try:
                future.set_result(self.codec.decode(message.get("v"), blobs))
            except Exception as exc:
                future.set_exception(exc)
        else:
            err = message.get("e") or {}
            future.set_exception(RemoteException(err.get("message") or "remote call failed"))

    def _on_call(self, message, blobs, may_inline=False):
        fid = message.get("fn")
        fn = self.table.get(fid)
        if fn is None:
            raise LookupError("function %r is not (or no longer) available in the app" % message.get("fn"))
        args = self.codec.decode(message.get("args") or [], blobs)
        kwargs = dict(self.codec.decode(message.get("kw") or {}, blobs))
        return self._dispatch_call(message, fn, fid, args, kwargs, may_inline)

    def _socket_links(self):
        if self._sockets is None:
            from .socket.link import SocketLinks

            self._sockets = SocketLinks(self)
        return self._sockets
