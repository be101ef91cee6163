"""The msgpack subset Hypha RPC frames use (nil, bool, int, float, str, bin, array, map), stdlib only."""
import struct


def pack(value):
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def _pack(v, out):
    if v is None:
        out.append(0xC0)
    elif v is True or v is False:
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        _pack_int(v, out)
    elif isinstance(v, float):
        out.append(0xCB)
        out += struct.pack(">d", v)
    elif isinstance(v, str):
        data = v.encode("utf-8")
        n = len(data)
        if n < 32:
            out.append(0xA0 | n)
        elif n < 256:
            out += bytes((0xD9, n))
        elif n < 65536:
            out += b"\xda" + struct.pack(">H", n)
        else:
            out += b"\xdb" + struct.pack(">I", n)
        out += data
    elif isinstance(v, (bytes, bytearray, memoryview)):
        data = bytes(v)
        n = len(data)
        out += (bytes((0xC4, n)) if n < 256 else b"\xc5" + struct.pack(">H", n) if n < 65536 else b"\xc6" + struct.pack(">I", n))
        out += data
    elif isinstance(v, (list, tuple)):
        n = len(v)
        out += (bytes((0x90 | n,)) if n < 16 else b"\xdc" + struct.pack(">H", n) if n < 65536 else b"\xdd" + struct.pack(">I", n))
        for item in v:
            _pack(item, out)
    elif isinstance(v, dict):
        n = len(v)
        out += (bytes((0x80 | n,)) if n < 16 else b"\xde" + struct.pack(">H", n) if n < 65536 else b"\xdf" + struct.pack(">I", n))
        for key, item in v.items():
            _pack(key, out)
            _pack(item, out)
    else:
        raise TypeError("msgpack_lite cannot encode %s" % type(v).__name__)


def _pack_int(v, out):
    if 0 <= v < 128:
        out.append(v)
    elif -32 <= v < 0:
        out.append(v & 0xFF)
    elif v >= 0:
        out += b"\xcf" + struct.pack(">Q", v)
    else:
        out += b"\xd3" + struct.pack(">q", v)


_FIXED = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q", 0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}


def unpack_all(data):
    """Every object in `data`, in order (a Hypha frame is msgpack(main) followed by msgpack(extra))."""
    items, pos = [], 0
    while pos < len(data):
        item, pos = _unpack(data, pos)
        items.append(item)
    return items


def _unpack(d, p):
    b = d[p]
    p += 1
    if b < 0x80:
        return b, p
    if b >= 0xE0:
        return b - 0x100, p
    if 0x80 <= b <= 0x8F:
        return _map(d, p, b & 0x0F)
    if 0x90 <= b <= 0x9F:
        return _array(d, p, b & 0x0F)
    if 0xA0 <= b <= 0xBF:
        n = b & 0x1F
        return d[p:p + n].decode("utf-8"), p + n
    if b == 0xC0:
        return None, p
    if b in (0xC2, 0xC3):
        return b == 0xC3, p
    if b in _FIXED:
        fmt = _FIXED[b]
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, d[p:p + size])[0], p + size
    if b in (0xC4, 0xC5, 0xC6, 0xD9, 0xDA, 0xDB):
        size = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}[b]
        n = int.from_bytes(d[p:p + size], "big")
        p += size
        raw = bytes(d[p:p + n])
        return (raw if b <= 0xC6 else raw.decode("utf-8")), p + n
    if b in (0xDC, 0xDD):
        size = 2 if b == 0xDC else 4
        return _array(d, p + size, int.from_bytes(d[p:p + size], "big"))
    if b in (0xDE, 0xDF):
        size = 2 if b == 0xDE else 4
        return _map(d, p + size, int.from_bytes(d[p:p + size], "big"))
    raise ValueError("msgpack_lite: unsupported type byte 0x%02x" % b)


def _array(d, p, n):
    items = []
    for _ in range(n):
        item, p = _unpack(d, p)
        items.append(item)
    return items, p


def _map(d, p, n):
    result = {}
    for _ in range(n):
        key, p = _unpack(d, p)
        result[key], p = _unpack(d, p)
    return result, p
