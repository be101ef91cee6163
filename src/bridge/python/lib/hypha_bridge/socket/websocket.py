"""A small RFC 6455 client (stdlib only) for the app's own connection to Hypha: text and binary
messages, fragments, ping/pong and close. Frames are masked with a zero key where nothing on the path
can read them (TLS, loopback), as the worker's own `ws` connections are (src/hypha/frame-mask.ts)."""
import base64
import hashlib
import ipaddress
import os
import select
import socket
import ssl
import struct
import threading
from urllib.parse import urlsplit

TEXT, BINARY, CLOSE, PING, PONG, CONTINUATION = 1, 2, 8, 9, 10, 0
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_READ = 1 << 18
_MAX_MESSAGE = 1 << 30
_CORK_FRAMES = 32
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")


class WebSocketError(Exception):
    """The server refused the upgrade or broke the framing."""


def _is_private_path(scheme, host):
    if scheme == "wss" or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def connect(url, insecure=False, timeout=30.0):
    """Opens `url` (ws: or wss:); `insecure` skips certificate checks (the worker's --disable-ssl)."""
    parts = urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    if scheme not in ("ws", "wss") or not parts.hostname:
        raise WebSocketError("not a WebSocket URL: %s://%s" % (parts.scheme, parts.hostname))
    host = parts.hostname
    port = parts.port or (443 if scheme == "wss" else 80)
    sock = socket.create_connection((host, port), timeout)
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if scheme == "wss":
            context = ssl.create_default_context()
            if insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            sock = context.wrap_socket(sock, server_hostname=host)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        target = (parts.path or "/") + ("?" + parts.query if parts.query else "")
        netloc = parts.netloc.rsplit("@", 1)[-1]
        sock.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (target, netloc, key)).encode("latin-1"))
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            data = sock.recv(4096)
            if not data or len(buf) > 65536:
                raise WebSocketError("the server closed the connection during the WebSocket upgrade")
            buf += data
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = lines[0].split(" ", 2)
        if len(status) < 2 or status[1] != "101":
            raise WebSocketError("Unexpected server response: %s" % (status[1] if len(status) > 1 else lines[0]))
        headers = {name.strip().lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])}
        expected = base64.b64encode(hashlib.sha1(key.encode("ascii") + _GUID).digest()).decode("ascii")
        if headers.get("sec-websocket-accept") != expected:
            raise WebSocketError("the server answered the upgrade with a wrong Sec-WebSocket-Accept")
        sock.settimeout(None)
    except BaseException:
        sock.close()
        raise
    return WebSocket(sock, bytearray(rest), zero_mask=_is_private_path(scheme, host))


class WebSocket:
    def __init__(self, sock, buffered, zero_mask):
        self._sock = sock
        self._buf = bytes(buffered)  # unread input is self._buf[self._pos:]
        self._pos = 0
        self._chunk = bytearray(_READ)  # recv_into target: no fresh 256 KiB allocation per read
        self._chunk_view = memoryview(self._chunk)
        self._zero_mask = zero_mask
        self._send_lock = threading.Lock()
        self._corked = []  # frames the reading thread wrote while more input was waiting (sent in one go)
        self._corked_bytes = 0
        self.reader = None  # the thread that reads now: its sends are corked until it would block
        self.closed = False

    # ---- sending (any thread) --------------------------------------------------------------------
    def send(self, payload, opcode=BINARY):
        n = len(payload)
        head = bytes((0x80 | opcode,))
        if n < 126:
            head += bytes((0x80 | n,))
        elif n < 65536:
            head += b"\xfe" + _U16.pack(n)
        else:
            head += b"\xff" + _U64.pack(n)
        if self._zero_mask:
            head += b"\0\0\0\0"
        else:
            mask = os.urandom(4)
            head += mask
            payload = (int.from_bytes(payload, "little") ^ int.from_bytes(mask * (n // 4 + 1), "little")
                       & ((1 << (8 * n)) - 1)).to_bytes(n, "little") if n else b""
        if n < 65536 and threading.get_ident() == self.reader:
            self._corked.append(head + bytes(payload))
            self._corked_bytes += len(head) + n
            if self._corked_bytes >= 65536:
                self.flush()
            return
        with self._send_lock:
            if self._corked:
                self._flush_locked()
            if n < 65536:
                self._sock.sendall(head + bytes(payload))
            else:
                self._sock.sendall(head)
                self._sock.sendall(payload)

    def flush(self):
        """Sends what the reading thread corked (it calls this before it waits for input)."""
        if self._corked:
            with self._send_lock:
                self._flush_locked()

    def _flush_locked(self):
        frames, self._corked, self._corked_bytes = self._corked, [], 0
        self._sock.sendall(b"".join(frames))

    def send_text(self, text):
        self.send(text.encode("utf-8"), TEXT)

    def close(self, code=1000, reason=""):
        if self.closed:
            return
        self.closed = True
        try:
            self.send(_U16.pack(code) + reason.encode("utf-8")[:120], CLOSE)
        except OSError:
            pass
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._sock.close()

    # ---- receiving (one thread) ------------------------------------------------------------------
    def _fill(self, n):
        """Makes at least `n` unread bytes available (bytes from self._pos on)."""
        have = len(self._buf) - self._pos
        if have >= n:
            return
        pieces = [self._buf[self._pos:]]
        while have < n:
            got = self._read_some()
            pieces.append(self._chunk[:got])
            have += got
        self._buf = b"".join(pieces)  # one copy however many reads a large frame took
        self._pos = 0

    def _read_some(self):
        # Replies wait while more input is already here (they go out together), never while we would block.
        got = 0
        if self._corked:
            if len(self._corked) < _CORK_FRAMES:
                got = self._recv_now()
            if not got:
                self.flush()
        if not got:
            got = self._sock.recv_into(self._chunk_view)
        if not got:
            raise ConnectionError("the server closed the connection")
        return got

    def _recv_now(self):
        """Reads what has already arrived without waiting; 0 when nothing has."""
        if isinstance(self._sock, ssl.SSLSocket):
            if not self._sock.pending() and not select.select((self._sock,), (), (), 0)[0]:
                return 0
            return self._sock.recv_into(self._chunk_view)  # TLS records arrive whole: this does not block for long
        try:
            return self._sock.recv_into(self._chunk_view, 0, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return 0

    def _frame(self):
        self._fill(2)
        buf, p = self._buf, self._pos
        b0, b1 = buf[p], buf[p + 1]
        n, head = b1 & 0x7F, 2
        if n == 126:
            self._fill(4)
            buf, p = self._buf, self._pos
            n, head = _U16.unpack_from(buf, p + 2)[0], 4
        elif n == 127:
            self._fill(10)
            buf, p = self._buf, self._pos
            n, head = _U64.unpack_from(buf, p + 2)[0], 10
        if b1 & 0x80:
            raise WebSocketError("the server sent a masked frame")
        if n > _MAX_MESSAGE:
            raise WebSocketError("frame of %d bytes is too large" % n)
        self._fill(head + n)
        start = self._pos + head
        payload = self._buf[start:start + n]
        self._pos = start + n
        return bool(b0 & 0x80), b0 & 0x0F, payload

    def recv(self):
        """The next message as (opcode, payload): TEXT/BINARY, or CLOSE with (code, reason)."""
        parts, kind = [], None
        while True:
            fin, opcode, payload = self._frame()
            if opcode == PING:
                self.send(payload, PONG)
                continue
            if opcode == PONG:
                continue
            if opcode == CLOSE:
                code = _U16.unpack_from(payload)[0] if len(payload) >= 2 else 1005
                reason = payload[2:].decode("utf-8", "replace")
                self.close(code if code not in (1005, 1006) else 1000)
                return CLOSE, (code, reason)
            if opcode != CONTINUATION:
                kind = opcode
            parts.append(payload)
            if fin:
                return kind, parts[0] if len(parts) == 1 else b"".join(parts)
