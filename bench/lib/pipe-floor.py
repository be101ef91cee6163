"""The floor of a process hop for the bridge-direct benchmark: the least a Python process can do per call
over the bridge's framing on fd 3 (src/bridge/wire.ts): read a frame, parse its JSON, answer add(a, b) or
echo its one attachment back, write. No runner, threads, codec or app: what any design that runs the app's
Python in its own process, beside the worker, pays at the least.
"""
import json
import os
import struct

FD = 3
HDR = struct.Struct(">IB")
U32 = struct.Struct(">I")


def frame(kind, payload):
    return HDR.pack(len(payload) + 1, kind) + payload


def main():
    buf = bytearray()
    blobs = {}
    while True:
        data = os.read(FD, 1 << 20)
        if not data:
            return
        buf += data
        offset = 0
        out = []
        while len(buf) - offset >= 5:
            (size,) = U32.unpack_from(buf, offset)
            if len(buf) - offset - 4 < size:
                break
            kind, start, end = buf[offset + 4], offset + 5, offset + 4 + size
            offset = end
            if kind == 2:
                (bid,) = U32.unpack_from(buf, start)
                blobs.setdefault(bid, []).append(bytes(buf[start + 4:end]))
                continue
            message = json.loads(bytes(buf[start:end]))
            ids = message.get("b", [])
            if ids:  # echo: the attachment back as the answer
                for bid in ids:
                    for piece in blobs.pop(bid, []):
                        out.append(frame(2, U32.pack(bid) + piece))
                reply = {"t": "ok", "id": message["id"], "v": {"__b": "bytes", "i": 0}, "b": ids}
            else:
                a, b = message["args"]
                reply = {"t": "ok", "id": message["id"], "v": a + b}
            out.append(frame(1, json.dumps(reply, separators=(",", ":")).encode()))
        del buf[:offset]
        if out:
            os.write(FD, b"".join(out))


main()
