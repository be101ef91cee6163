"""A WebSocket client (RFC 6455) on asyncio streams, stdlib only: enough for one Hypha RPC connection."""
import asyncio
import base64
import os
import struct
from urllib.parse import urlsplit


class ConnectionClosed(Exception):
    pass


class WebSocket:
    def __init__(self, reader, writer):
        self._reader, self._writer = reader, writer
        self._send_lock = asyncio.Lock()

    @classmethod
    async def open(cls, url):
        parts = urlsplit(url)
        if parts.scheme != "ws":
            raise ValueError("ws_lite speaks plain ws:// only, got %r" % url)
        reader, writer = await asyncio.open_connection(parts.hostname, parts.port or 80)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (
            "GET %s HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n" % (parts.path or "/", parts.hostname, parts.port or 80, key)
        )
        writer.write(request.encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError("websocket upgrade refused: %s" % head.split(b"\r\n", 1)[0].decode(errors="replace"))
        return cls(reader, writer)

    async def send(self, payload):
        """Sends a str as a text frame, bytes as a binary frame (masked, as a client must)."""
        opcode, data = (0x1, payload.encode()) if isinstance(payload, str) else (0x2, bytes(payload))
        await self._send_frame(opcode, data)

    async def _send_frame(self, opcode, data):
        n = len(data)
        head = bytes((0x80 | opcode,)) + (bytes((0x80 | n,)) if n < 126 else bytes((0xFE,)) + struct.pack(">H", n) if n < 65536 else bytes((0xFF,)) + struct.pack(">Q", n))
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
        async with self._send_lock:
            self._writer.write(head + mask + masked)
            await self._writer.drain()

    async def recv(self):
        """The next message: str (text) or bytes (binary); answers pings; ConnectionClosed on close."""
        parts, first_opcode = [], None
        while True:
            b0, b1 = await self._read(2)
            opcode, n = b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack(">H", await self._read(2))[0]
            elif n == 127:
                n = struct.unpack(">Q", await self._read(8))[0]
            mask = await self._read(4) if b1 & 0x80 else None
            data = await self._read(n)
            if mask:
                data = bytes(b ^ mask[i & 3] for i, b in enumerate(data))
            if opcode == 0x8:
                raise ConnectionClosed("the server closed the connection")
            if opcode == 0x9:
                await self._send_frame(0xA, data)
                continue
            if opcode == 0xA:
                continue
            if opcode != 0x0:
                first_opcode = opcode
            parts.append(data)
            if b0 & 0x80:
                message = b"".join(parts)
                return message.decode() if first_opcode == 0x1 else message

    async def _read(self, n):
        try:
            return await self._reader.readexactly(n)
        except (asyncio.IncompleteReadError, ConnectionError) as exc:
            raise ConnectionClosed("the connection dropped: %s" % exc)

    async def close(self):
        try:
            await self._send_frame(0x8, struct.pack(">H", 1000))
        except Exception:
            pass
        self._writer.close()
