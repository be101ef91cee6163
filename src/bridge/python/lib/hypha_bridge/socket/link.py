"""The app's own sockets to Hypha, opened for the worker's hypha-rpc, which speaks through them over the
bridge (sock_open/sock_send/sock_close from the worker; sock_opened/sock_error/sock_msg/sock_closed back).
Incoming calls the fast path takes (fast.py) never reach the worker; everything else is passed on as is."""
import json
import sys
import threading

from . import websocket
from .chunks import IncomingCache, Outgoing
from .fast import Reply, parse_call
from ..leader import Leadership
from .heartbeat import Heartbeats
from .msgpack_wire import pack, unpack_frame

_EMPTY = b""


_CACHE = "services.built-in.message_cache."


def _merged(parts, trusted=None):
    """One hypha-rpc message from its main and extra parts, with the trusted context it gets on arrival."""
    data = parts[0]
    if trusted:
        data.update(trusted)
    # hypha-rpc's ctx: the main part as received (server-set fields included), plus the connection type.
    data["ctx"] = dict(data, connection_type="websocket")
    if len(parts) > 1 and isinstance(parts[1], dict):
        data.update(parts[1])
    return data


class SocketLinks:
    def __init__(self, peer):
        self.peer = peer
        self.table = {}  # "services.<id>.<fn>" -> {"fn": function id, "context": bool, "protected": bool}
        self.beats = Heartbeats()
        self.stats = {"fast": 0, "forwarded": 0}
        self._links = {}
        self._cancelled = set()
        self._lock = threading.Lock()

    def handle(self, message, blobs):
        kind = message.get("t")
        sid = message.get("s")
        if kind == "fast_table":
            for path in message.get("drop") or []:
                self.table.pop(path, None)
            self.table.update(message.get("set") or {})
        elif kind == "sock_open":
            threading.Thread(target=self._open, args=(sid, str(message.get("url")), bool(message.get("insecure"))),
                             name="hypha-bridge-socket", daemon=True).start()
        elif kind == "sock_send":
            link = self._links.get(sid)
            if link is not None:
                link.send_from_worker(message, blobs)
        elif kind == "sock_close":
            with self._lock:
                link = self._links.pop(sid, None)
                if link is None:
                    self._cancelled.add(sid)
            if link is not None:
                link.ws.close(int(message.get("code") or 1000), str(message.get("reason") or ""))
        elif kind == "sock_stats":
            self.peer.notify({"t": "ok", "id": message.get("id"), "v": dict(self.stats)})

    def _open(self, sid, url, insecure):
        try:
            ws = websocket.connect(url, insecure=insecure)
        except Exception as exc:  # noqa: BLE001 (the worker falls back to its own socket and says why)
            self.peer.notify({"t": "sock_error", "s": sid, "message": "%s: %s" % (type(exc).__name__, exc)})
            return
        link = Link(self, sid, ws)
        with self._lock:
            cancelled = sid in self._cancelled
            self._cancelled.discard(sid)
            if not cancelled:
                self._links[sid] = link
        if cancelled:
            ws.close()
            return
        self.peer.notify({"t": "sock_opened", "s": sid})
        link.run()

    def hand_off_if_inline(self):
        for link in list(self._links.values()):
            link.leadership.hand_off_if_inline()

    def drop(self, sid):
        with self._lock:
            self._links.pop(sid, None)


class Link:
    def __init__(self, links, sid, ws):
        self.links = links
        self.sid = sid
        self.ws = ws
        self.beats = links.beats
        self.me = None
        self.workspace = None
        # Quick sync calls run on the reading thread; one that blocks hands the reading on (leader.py).
        self.leadership = Leadership(self._start_reader)
        self.outgoing = Outgoing(self)
        self.incoming = IncomingCache()

    def send_from_worker(self, message, blobs):
        try:
            if "text" in message:
                self.ws.send_text(message["text"])
            elif blobs:
                self.ws.send(blobs[0])
        except OSError:
            pass  # the reader sees the socket close and tells the worker

    def send_binary(self, data):
        try:
            self.ws.send(data)
        except OSError:
            pass

    def settle_slowly(self, raw, kind, value, trusted=None):
        """Hands a reply the fast path does not encode itself (errors, functions, arrays, large) to the worker."""
        peer = self.links.peer
        blobs = []
        try:
            encoded = peer.codec.encode(value, blobs) if kind == "resolve" else value
        except Exception as exc:  # noqa: BLE001 (as the worker path does: the caller gets the encoding error)
            kind, encoded = "reject", {"type": type(exc).__name__, "message": str(exc), "traceback": ""}
            blobs = []
        blobs.append(raw)
        try:
            message = {"t": "sock_settle", "s": self.sid, "kind": kind, "v": encoded, "raw": len(blobs) - 1}
            if trusted:
                message["trusted"] = trusted
            peer.channel.send(message, blobs)
        except ConnectionError:
            pass

    def _forward(self, message, blobs):
        # With a blob, so it stays in order with the binary messages before it (see framing.Channel.send).
        try:
            self.links.peer.channel.send(message, blobs)
        except ConnectionError:
            pass

    def _on_text(self, text):
        if self.me is None and '"connection_info"' in text:
            try:
                info = json.loads(text)
            except ValueError:
                info = None
            if isinstance(info, dict) and info.get("type") == "connection_info":
                self.workspace = info.get("workspace")
                self.me = "%s/%s" % (self.workspace, info.get("client_id"))

    def _try_fast(self, payload):
        links = self.links
        if not links.table or self.me is None:
            return False
        try:
            parts = unpack_frame(payload)
        except ValueError:
            return False
        if not parts or not isinstance(parts[0], dict):
            return False
        data = _merged(parts)
        method = data.get("method")
        if not isinstance(method, str):
            return False
        if "." in method and not method.startswith("services.") and self.outgoing.settle(data):
            return True
        if method.startswith(_CACHE):
            return self._take_piece(method[len(_CACHE):], data)
        return self._call(data, payload)

    def _call(self, data, raw, trusted=None):
        links = self.links
        call = parse_call(data, links.table, self.workspace)
        if call is None:
            return False
        entry, args, kwargs = call
        handled = links.peer.call_direct(entry.get("fn"), args, kwargs, lambda: Reply(self, data, raw, trusted))
        if handled:
            links.stats["fast"] += 1
        return handled

    def _take_piece(self, op, data):
        args = data.get("args")
        if data.get("type") != "method" or not isinstance(args, list) or data.get("_enc") is not None:
            return False
        handled, assembled = self.incoming.take(op, args)
        if not handled:
            return False
        session = data.get("session") if data.get("promise") == "*" else None
        if session and isinstance(data.get("from"), str):
            main = {"type": "method", "from": self.me, "to": data["from"], "method": session + ".resolve", "parent": session}
            self.send_binary(pack(main) + pack({"args": [None]}))
        if assembled is None:
            return True
        # As hypha-rpc's _process_message: the server's from/to/ws/user replace the sender's own.
        trusted = {key: data.get(key) for key in ("from", "to", "ws", "user")}
        try:
            parts = unpack_frame(assembled)
        except ValueError:
            parts = None
        if parts and isinstance(parts[0], dict):
            message = _merged(parts, trusted)
            handled = self._call(message, assembled, trusted)
            if handled:
                return handled
        self._forward({"t": "sock_fire", "s": self.sid, "trusted": trusted}, [assembled])
        return True

    def _start_reader(self, token):
        threading.Thread(target=self.run, args=(token,), name="hypha-bridge-socket", daemon=True).start()

    def run(self, token=None):
        token = token or self.leadership.claim()
        self.ws.reader = threading.get_ident()  # replies written while reading a burst go out together
        code, reason = 1006, "the connection was lost"
        try:
            while True:
                opcode, payload = self.ws.recv()
                if opcode == websocket.CLOSE:
                    code, reason = payload
                    break
                if opcode == websocket.TEXT:
                    text = payload.decode("utf-8", "replace")
                    self._on_text(text)
                    self._forward({"t": "sock_msg", "s": self.sid, "text": text}, [_EMPTY])
                    continue
                try:
                    handled = self._try_fast(payload)
                except Exception as exc:  # noqa: BLE001 (the worker's hypha-rpc answers what this cannot)
                    sys.stderr.write("hypha bridge: app socket fast path: %s: %s\n" % (type(exc).__name__, exc))
                    handled = False
                if not handled:
                    self.links.stats["forwarded"] += 1
                    self._forward({"t": "sock_msg", "s": self.sid}, [payload])
                elif callable(handled) and not self.leadership.run_inline(token, handled):
                    return  # another thread reads the socket now
        except (OSError, ConnectionError, websocket.WebSocketError) as exc:
            if not self.ws.closed:
                reason = str(exc)
        self.leadership.closed = True
        self.outgoing.close()
        try:
            self.ws.close()
        finally:
            self.links.drop(self.sid)
            self.ws.closed = True
            self._forward({"t": "sock_closed", "s": self.sid, "code": code, "reason": reason}, [_EMPTY])
