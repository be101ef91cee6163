"""Length-prefixed frames on the private channel to the worker.

Frame: u32 big-endian N, then N bytes: u8 kind + payload.
  kind 1 (MSG):   UTF-8 JSON object; its "b" key lists blob ids sent before it.
  kind 2 (CHUNK): u32 blob id + raw bytes (one piece of a binary attachment).
Large attachments are cut into chunks; the writer sends plain messages ahead of pending chunks so a
big payload never blocks a small call.
"""
import collections
import json
import os
import struct
import threading

from .leader import Leadership

KIND_MSG = 1
KIND_CHUNK = 2
CHUNK_SIZE = 1 << 20
MAX_FRAME = (64 << 20) + 16
_U32 = struct.Struct(">I")
_HDR = struct.Struct(">IB")


class FramingError(Exception):
    """The byte stream does not follow the frame format; the channel cannot continue."""


def _dumps(message):
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode("utf-8")


class Channel:
    """Reads frames on a thread and hands whole messages to on_message(message, blobs, may_inline), which
    may return work (a callable) that the reading thread runs itself before it takes the next message."""

    def __init__(self, fd, on_message, on_close):
        self._fd = fd
        self._on_message = on_message
        self._on_close = on_close
        self._cond = threading.Condition()
        self._control = collections.deque()
        self._bulk = collections.deque()
        self._closed = False
        self._next_blob = 1
        self._busy = False
        self._blob_lock = threading.Lock()
        self._rbuf = bytearray()
        self._rpending = {}
        self._backlog = collections.deque()
        self._backlog_lock = threading.Lock()
        self.leadership = Leadership(self._start_reader)
        self._reader = threading.Thread(target=self._read_loop, args=(self.leadership.claim(),), name="hypha-bridge-reader", daemon=True)
        self._writer = threading.Thread(target=self._write_loop, name="hypha-bridge-writer", daemon=True)

    def start(self):
        self._reader.start()
        self._writer.start()

    @property
    def closed(self):
        return self._closed

    def send(self, message, blobs=None):
        """Queues a message; blobs (bytes-like) travel as chunk frames ahead of it."""
        if not blobs:
            frame = self._frame(KIND_MSG, _dumps(message))
            with self._cond:
                if self._closed:
                    raise ConnectionError("the bridge channel to the worker is closed")
                direct = not self._busy and not self._control and not self._bulk
                if direct:
                    self._busy = True
                else:
                    self._control.append(frame)
                    self._cond.notify_all()
            if direct:
                # Nothing queued and nobody writing: write from this thread (saves a thread hand-off per reply).
                try:
                    self._write_all(frame)
                except OSError:
                    self._shutdown()
                finally:
                    with self._cond:
                        self._busy = False
                        self._cond.notify_all()
            return
        ids = []
        with self._blob_lock:
            for _ in blobs:
                ids.append(self._next_blob)
                self._next_blob += 1
        message = dict(message)
        message["b"] = ids
        item = {"blobs": [(bid, memoryview(blob).cast("B")) for bid, blob in zip(ids, blobs)], "pos": 0,
                "final": self._frame(KIND_MSG, _dumps(message))}
        with self._cond:
            if self._closed:
                raise ConnectionError("the bridge channel to the worker is closed")
            self._bulk.append(item)
            self._cond.notify_all()

    def drain(self, timeout):
        """Waits (up to `timeout` seconds) until everything queued has been written."""
        with self._cond:
            self._cond.wait_for(lambda: self._closed or (not self._control and not self._bulk and not self._busy), timeout)

    def close(self):
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @staticmethod
    def _frame(kind, payload):
        if len(payload) + 1 > MAX_FRAME - 1024:
            raise ValueError("bridge message of %d bytes is too large; pass large data as bytes, which travel "
                             "as chunks" % len(payload))
        return _HDR.pack(len(payload) + 1, kind) + payload

    def _next_bulk_frame(self):
        # Round-robin: one chunk of the first pending attachment, then it goes to the back of the queue.
        item = self._bulk.popleft()
        while item["blobs"]:
            bid, view = item["blobs"][0]
            pos = item["pos"]
            if pos < len(view) or (pos == 0 and len(view) == 0):
                piece = view[pos:pos + CHUNK_SIZE]
                item["pos"] = pos + len(piece)
                if item["pos"] >= len(view):
                    item["blobs"].pop(0)
                    item["pos"] = 0
                self._bulk.append(item)
                return [_HDR.pack(len(piece) + 5, KIND_CHUNK) + _U32.pack(bid), piece]
            item["blobs"].pop(0)
            item["pos"] = 0
        return [item["final"]]

    def _write_loop(self):
        try:
            while True:
                with self._cond:
                    while (self._busy or (not self._control and not self._bulk)) and not self._closed:
                        self._cond.wait()
                    if self._closed:
                        return
                    if self._control:
                        batch = [self._control.popleft()]
                        while self._control and len(batch) < 64:
                            batch.append(self._control.popleft())
                        parts = [b"".join(batch)]  # one system call for a burst of small messages
                    elif self._bulk:
                        parts = self._next_bulk_frame()
                    else:
                        return
                    self._busy = True
                for part in parts:
                    self._write_all(part)
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()
        except OSError:
            self._shutdown()

    def _write_all(self, data):
        view = memoryview(data)
        while len(view):
            written = os.write(self._fd, view)
            view = view[written:]

    def _start_reader(self, token):
        threading.Thread(target=self._read_loop, args=(token,), name="hypha-bridge-reader", daemon=True).start()

    def _read_loop(self, token):
        # The reading state lives on the channel: a call run inline can hand the reading to another thread,
        # which takes over the messages already read (the backlog) before it reads more.
        buf = self._rbuf
        pending = self._rpending
        error = None
        try:
            while True:
                if not self._dispatch_backlog(token):
                    return  # another thread reads now
                data = os.read(self._fd, 1 << 20)
                if not data:
                    break
                buf += data
                offset = 0
                messages = []
                while len(buf) - offset >= 4:
                    (size,) = _U32.unpack_from(buf, offset)
                    if size < 1 or size > MAX_FRAME:
                        raise FramingError("frame of %d bytes (limit %d)" % (size, MAX_FRAME))
                    if len(buf) - offset - 4 < size:
                        break
                    kind = buf[offset + 4]
                    start = offset + 5
                    end = offset + 4 + size
                    offset = end
                    if kind == KIND_CHUNK:
                        if size < 5:
                            raise FramingError("chunk frame without blob id")
                        (bid,) = _U32.unpack_from(buf, start)
                        pending.setdefault(bid, []).append(bytes(buf[start + 4:end]))
                    elif kind == KIND_MSG:
                        message = json.loads(bytes(buf[start:end]).decode("utf-8"))
                        if not isinstance(message, dict):
                            raise FramingError("message frame is not a JSON object")
                        blobs = [b"".join(pending.pop(bid, [])) for bid in message.pop("b", [])]
                        messages.append((message, blobs))
                    else:
                        raise FramingError("unknown frame kind %d" % kind)
                del buf[:offset]
                with self._backlog_lock:
                    self._backlog.extend(messages)
        except (OSError, ValueError, FramingError) as exc:
            error = exc
        self._shutdown(error)

    def _dispatch_backlog(self, token):
        """Hands the messages read so far to on_message in order; False once another thread leads (reads)."""
        while True:
            with self._backlog_lock:
                if not self._backlog:
                    return True
                message, blobs = self._backlog.popleft()
            # A quick call runs here; should it block, the watchdog hands the reading, backlog included, on.
            work = self._on_message(message, blobs, True)
            if work is not None and not self.leadership.run_inline(token, work):
                return False

    def _shutdown(self, error=None):
        self.leadership.closed = True
        with self._cond:
            already = self._closed
            self._closed = True
            self._cond.notify_all()
        if not already:
            self._on_close(error)
