"""Which calls arriving on the app's own socket are answered here, and their replies: a port of the
worker's fast call path (src/hypha/fast-calls.ts), with the same rules. A call to a registered plain
function, with plain arguments, a "*" or no promise, no encryption, no trusted_keys and not a protected
service called from another workspace, is run here; its plain result goes back as hypha-rpc's own
`<session>.resolve` message. Anything else (and every error) is settled by the worker's hypha-rpc."""
import sys

from ..codec import ObjectProxy
from .chunks import ChunkedReply
from .msgpack_wire import pack, pack_str

MAX_DEPTH = 64
CHUNK_SIZE = 256 * 1024
_INT_MIN, _INT_MAX = -(1 << 63), (1 << 64) - 1


def _has_encoded(value, depth=0):
    """True when a value holds one of hypha-rpc's encoded objects (`_rtype`) or nests too deep."""
    if depth >= MAX_DEPTH:
        return True
    if isinstance(value, list):
        return any(_has_encoded(v, depth + 1) for v in value if isinstance(v, (list, dict)))
    if isinstance(value, dict):
        return "_rtype" in value or any(_has_encoded(v, depth + 1) for v in value.values() if isinstance(v, (list, dict)))
    return False


def is_plain(value, depth=0):
    """Whether a result travels as plain msgpack exactly as the worker's hypha-rpc would send it."""
    if value is None or isinstance(value, (bool, float, str, bytes)):
        return True
    if isinstance(value, int):
        return _INT_MIN <= value <= _INT_MAX
    if depth >= MAX_DEPTH:
        return False
    if isinstance(value, (list, tuple)):
        return all(is_plain(v, depth + 1) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and is_plain(v, depth + 1) for k, v in dict.items(value)) and "_rtype" not in value
    return isinstance(value, bytearray)


def parse_call(data, table, own_ws):
    """(entry, args, kwargs) for a call this side may answer, else None (the worker's hypha-rpc takes it)."""
    method = data.get("method")
    if data.get("type") != "method" or not isinstance(method, str) or not method.startswith("services.") or "_enc" in data:
        return None
    if "promise" in data and data["promise"] != "*":
        return None
    frm, to, ctx = data.get("from"), data.get("to"), data.get("ctx")
    if not isinstance(frm, str) or not isinstance(to, str) or not isinstance(ctx, dict):
        return None
    if data.get("promise") and not isinstance(data.get("session"), str):
        return None
    pieces = frm.split("/")
    if len(pieces) < 2 or not pieces[1]:
        return None
    remote_ws = pieces[0]
    full_to = to if "/" in to else "%s/%s" % (remote_ws, to)
    to_ws = full_to.split("/")[0]
    if own_ws and own_ws != "*" and to_ws != own_ws:
        return None
    entry = table.get(method)
    if entry is None or (entry.get("protected") and (own_ws or to_ws) != remote_ws):
        return None
    args = data.get("args", [])
    if not isinstance(args, list) or _has_encoded(args):
        return None
    kwargs = {}
    if data.get("with_kwargs") and args:
        last = args[-1]
        if not isinstance(last, dict) or not all(isinstance(k, str) for k in last):
            return None
        kwargs = {k: ObjectProxy.fromDict(v) for k, v in last.items() if k != "_rkwargs"}
        args = args[:-1]
    if entry.get("context"):
        ctx["to"] = full_to
        kwargs["context"] = ObjectProxy.fromDict(ctx)
    return entry, [ObjectProxy.fromDict(a) for a in args], kwargs


def resolve_frame(me, caller, session, value):
    """hypha-rpc's resolve message, `{type, from, to, method, parent}` + `{args: [value]}`, packed directly."""
    return b"".join((b"\x85\xa4type\xa6method\xa4from", pack_str(me), b"\xa2to", pack_str(caller), b"\xa6method",
                     pack_str(session + ".resolve"), b"\xa6parent", pack_str(session), b"\x81\xa4args\x91", pack(value)))


class Reply:
    """Where the app's function answers a socket call (the peer calls ok/error, like a worker reply)."""

    def __init__(self, link, data, raw, trusted=None):
        self._link = link
        self._data = data
        self._raw = raw
        self._trusted = trusted  # the server's from/to/ws/user for a call assembled from pieces
        self._session = data.get("session") if data.get("promise") else None
        interval = data.get("t")
        self._beating = bool(self._session) and isinstance(interval, (int, float)) and not isinstance(interval, bool) and interval > 0
        if self._beating:
            link.beats.add(self, interval, lambda: self._send("heartbeat", []))

    def _send(self, kind, args):
        session = self._session
        main = {"type": "method", "from": self._link.me, "to": self._data["from"], "method": "%s.%s" % (session, kind), "parent": session}
        self._link.send_binary(pack(main) + pack({"args": args}))

    def _stop_beats(self):
        if self._beating:
            self._link.beats.remove(self)

    def ok(self, value):
        self._stop_beats()
        if not self._session:
            return
        if is_plain(value):
            try:
                message = resolve_frame(self._link.me, self._data["from"], self._session, value)
            except (TypeError, ValueError, OverflowError):
                message = None
            if message is not None and len(message) <= CHUNK_SIZE + 1024:
                self._link.send_binary(message)
                return
            if message is not None:
                fallback = lambda: self._link.settle_slowly(self._raw, "resolve", value, self._trusted)  # noqa: E731
                ChunkedReply(self._link, self._data["from"], self._session, message, fallback).start()
                return
        self._link.settle_slowly(self._raw, "resolve", value, self._trusted)

    def error(self, etype, text, traceback):
        self._stop_beats()
        if not self._session:
            sys.stderr.write("hypha bridge: %s failed: %s: %s\n" % (self._data.get("method"), etype, text))
            return
        self._link.settle_slowly(self._raw, "reject", {"type": etype, "message": text, "traceback": traceback}, self._trusted)
