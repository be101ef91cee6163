"""Messages larger than one frame, hypha-rpc's way (rpc.js `_send_chunks`, `message_cache`): the sender
stores 256 KiB pieces in the receiver's built-in message_cache (create, set..., process), each a call the
receiver resolves, and the receiver assembles and handles the message at `process`.

Incoming: the app keeps the pieces of calls addressed to it (heartbeat=False at create); pieces of
replies to the worker's own calls (heartbeat=True: they reset a session of the worker's hypha-rpc) go to
the worker. Outgoing: a large plain result is sent to the caller's message_cache from here."""
import collections
import os
import sys
import threading

from .msgpack_wire import pack

CHUNK_SIZE = 256 * 1024
MAX_ENTRIES = 256  # as hypha-rpc's MAX_CACHE_SIZE
MAX_PENDING = 4096
CALL_T = 15  # hypha-rpc's default method_timeout (30 s) halved, as it sends it
_CACHE = "services.built-in.message_cache."


def _session_id():
    return os.urandom(12).hex()


class Outgoing:
    """Calls this side makes itself (to a caller's message_cache), answered by `<session>.resolve/reject`."""

    def __init__(self, link):
        self._link = link
        self._pending = collections.OrderedDict()
        self._lock = threading.Lock()

    def call(self, target, method, args, done):
        session = _session_id()
        dropped = []
        with self._lock:
            self._pending[session] = done
            while len(self._pending) > MAX_PENDING:
                dropped.append(self._pending.popitem(last=False)[1])
        for old in dropped:
            old(False, "no answer (too many calls pending)")
        main = {"type": "method", "from": self._link.me, "to": target, "method": method, "session": session}
        # hypha-rpc sends `t` (half its method timeout) with every "*" promise, and Python's hypha_rpc reads
        # it to expand the promise (`_expand_promise`: data["t"]): without it a Python caller never answers.
        self._link.send_binary(pack(main) + pack({"args": args, "promise": "*", "t": CALL_T}))

    def settle(self, data):
        """Takes `<session>.resolve|reject|heartbeat` for a call of ours; False for anything else."""
        method = data.get("method")
        if not isinstance(method, str) or method.count(".") != 1:
            return False
        session, kind = method.split(".")
        with self._lock:
            if session not in self._pending:
                return False
            if kind == "heartbeat":
                return True
            done = self._pending.pop(session)
        args = data.get("args") or [None]
        done(kind == "resolve", args[0])
        return True

    def close(self):
        with self._lock:
            pending, self._pending = self._pending, collections.OrderedDict()
        for done in pending.values():
            done(False, "the connection closed")


class ChunkedReply:
    """Sends `package` (a whole resolve message) to `caller`'s message_cache under the call's session."""

    def __init__(self, link, caller, session, package, fallback):
        self._link, self._caller, self._key, self._package, self._fallback = link, caller, session, package, fallback
        self._left = 0

    def start(self):
        self._link.outgoing.call(self._caller, "services.built-in.get_service", ["built-in"], self._got_service)

    def _got_service(self, ok, service):
        config = service.get("config") if ok and isinstance(service, dict) else None
        if not isinstance(config, dict) or not isinstance(config.get("api_version"), int) or config["api_version"] < 3:
            return self._fallback()  # an older peer: the worker's hypha-rpc knows its protocol
        self._link.outgoing.call(self._caller, _CACHE + "create", [self._key, True], self._created)

    def _created(self, ok, error):
        if not ok:
            return self._failed(error)
        pieces = range(0, len(self._package), CHUNK_SIZE)
        self._left = len(pieces)
        for index, start in enumerate(pieces):
            piece = self._package[start:start + CHUNK_SIZE]
            self._link.outgoing.call(self._caller, _CACHE + "set", [self._key, index, piece, True], self._stored)

    def _stored(self, ok, error):
        if self._left <= 0:
            return
        if not ok:
            self._left = 0
            self._link.outgoing.call(self._caller, _CACHE + "remove", [self._key], lambda *_: None)
            return self._failed(error)
        self._left -= 1
        if self._left == 0:
            self._link.outgoing.call(self._caller, _CACHE + "process", [self._key, True],
                                     lambda ok, error: None if ok else self._failed(error))

    def _failed(self, error):
        sys.stderr.write("hypha bridge: could not send a large reply to %s: %s\n" % (self._caller, error))


class IncomingCache:
    """The app's part of the built-in message_cache (see the module's docstring)."""

    def __init__(self):
        self._entries = collections.OrderedDict()

    def take(self, op, args):
        """(handled, assembled bytes or None) for message_cache op `op`; handled=False leaves it to the worker."""
        key = args[0] if args and isinstance(args[0], str) else None
        if key is None:
            return False, None
        if op == "create":
            if len(args) > 1 and args[1]:
                return False, None  # a reply to the worker's own call: its session lives in the worker
            self._entries[key] = {}
            while len(self._entries) > MAX_ENTRIES:
                self._entries.popitem(last=False)
            return True, None
        pieces = self._entries.get(key)
        if pieces is None:
            return False, None
        if op == "set" and len(args) >= 3 and isinstance(args[1], int) and isinstance(args[2], bytes):
            pieces[args[1]] = args[2]
        elif op == "append" and len(args) >= 2 and isinstance(args[1], bytes):
            pieces[len(pieces)] = args[1]
        elif op == "remove":
            self._entries.pop(key, None)
        elif op == "process":
            self._entries.pop(key, None)
            return True, b"".join(pieces[i] for i in sorted(pieces))
        else:
            return False, None
        return True, None
