"""The msgpack that Hypha RPC frames use (nil, bool, int, float, str, bin, array, map): the env's C
`msgpack` when it has one, else this stdlib decoder/encoder. A frame is msgpack(main) + msgpack(extra)."""
import struct

try:  # optional: faster where the app's env has it
    import msgpack as _c
except Exception:  # noqa: BLE001 (any failure to import means: use ours)
    _c = None

_FIXED = {0xCA: struct.Struct(">f"), 0xCB: struct.Struct(">d"), 0xCC: struct.Struct(">B"), 0xCD: struct.Struct(">H"),
          0xCE: struct.Struct(">I"), 0xCF: struct.Struct(">Q"), 0xD0: struct.Struct(">b"), 0xD1: struct.Struct(">h"),
          0xD2: struct.Struct(">i"), 0xD3: struct.Struct(">q")}
_LEN = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}
_F64 = struct.Struct(">d")


def unpack_frame(data):
    """The objects of one frame, in order; ValueError for anything outside the subset (ext types)."""
    if _c is not None:
        unpacker = _c.Unpacker(raw=False, max_buffer_size=0, strict_map_key=False)
        unpacker.feed(data)
        try:
            return list(unpacker)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(str(exc)) from exc
    view = memoryview(data)
    items, pos, end = [], 0, len(data)
    try:
        while pos < end:
            item, pos = _unpack(view, pos)
            items.append(item)
    except (IndexError, struct.error, UnicodeDecodeError) as exc:
        raise ValueError("malformed msgpack: %s" % exc) from exc
    return items


def pack(value):
    if _c is not None:
        return _c.packb(value, use_bin_type=True)
    out = bytearray()
    _pack(value, out)
    return bytes(out)


def pack_str(text):
    """A str as msgpack (what the reply header is made of)."""
    data = text.encode("utf-8")
    n = len(data)
    if n < 32:
        return bytes((0xA0 | n,)) + data
    if n < 256:
        return bytes((0xD9, n)) + data
    return (b"\xda" + n.to_bytes(2, "big") if n < 65536 else b"\xdb" + n.to_bytes(4, "big")) + data


def _unpack(d, p):
    b = d[p]
    p += 1
    if b < 0x80:
        return b, p
    if b >= 0xE0:
        return b - 0x100, p
    if b <= 0x8F:
        return _map(d, p, b & 0x0F)
    if b <= 0x9F:
        return _array(d, p, b & 0x0F)
    if b <= 0xBF:
        n = b & 0x1F
        return str(d[p:p + n], "utf-8"), p + n
    if b == 0xC0:
        return None, p
    if b == 0xC2 or b == 0xC3:
        return b == 0xC3, p
    fixed = _FIXED.get(b)
    if fixed is not None:
        return fixed.unpack_from(d, p)[0], p + fixed.size
    size = _LEN.get(b)
    if size is not None:
        n = int.from_bytes(d[p:p + size], "big")
        p += size
        if p + n > len(d):
            raise IndexError("truncated string or bin")
        return (bytes(d[p:p + n]) if b <= 0xC6 else str(d[p:p + n], "utf-8")), p + n
    if b == 0xDC or b == 0xDD:
        size = 2 if b == 0xDC else 4
        return _array(d, p + size, int.from_bytes(d[p:p + size], "big"))
    if b == 0xDE or b == 0xDF:
        size = 2 if b == 0xDE else 4
        return _map(d, p + size, int.from_bytes(d[p:p + size], "big"))
    raise ValueError("msgpack type byte 0x%02x is not used by Hypha RPC" % b)


def _array(d, p, n):
    items = []
    for _ in range(n):
        b = d[p]
        if b < 0x80:
            items.append(b)
            p += 1
        else:
            item, p = _unpack(d, p)
            items.append(item)
    return items, p


def _map(d, p, n):
    # Keys are short strings and many values small ints or short strings: those are read here, not in a call.
    result = {}
    for _ in range(n):
        b = d[p]
        if 0xA0 <= b <= 0xBF:
            end = p + 1 + (b & 0x1F)
            key = str(d[p + 1:end], "utf-8")
            p = end
        else:
            key, p = _unpack(d, p)
        b = d[p]
        if 0xA0 <= b <= 0xBF:
            end = p + 1 + (b & 0x1F)
            result[key] = str(d[p + 1:end], "utf-8")
            p = end
        elif b < 0x80:
            result[key] = b
            p += 1
        else:
            result[key], p = _unpack(d, p)
    return result, p


def _pack(v, out):
    if v is None:
        out.append(0xC0)
    elif v is True or v is False:
        out.append(0xC3 if v else 0xC2)
    elif isinstance(v, int):
        if 0 <= v < 128:
            out.append(v)
        elif -32 <= v < 0:
            out.append(v & 0xFF)
        elif v >= 0:
            out += b"\xcf" + v.to_bytes(8, "big")
        else:
            out += b"\xd3" + v.to_bytes(8, "big", signed=True)
    elif isinstance(v, float):
        out.append(0xCB)
        out += _F64.pack(v)
    elif isinstance(v, str):
        data = v.encode("utf-8")
        n = len(data)
        out += bytes((0xA0 | n,)) if n < 32 else bytes((0xD9, n)) if n < 256 else (b"\xda" + n.to_bytes(2, "big") if n < 65536 else b"\xdb" + n.to_bytes(4, "big"))
        out += data
    elif isinstance(v, (bytes, bytearray, memoryview)):
        n = len(v)
        out += bytes((0xC4, n)) if n < 256 else (b"\xc5" + n.to_bytes(2, "big") if n < 65536 else b"\xc6" + n.to_bytes(4, "big"))
        out += v
    elif isinstance(v, (list, tuple)):
        n = len(v)
        out += bytes((0x90 | n,)) if n < 16 else (b"\xdc" + n.to_bytes(2, "big") if n < 65536 else b"\xdd" + n.to_bytes(4, "big"))
        for item in v:
            _pack(item, out)
    elif isinstance(v, dict):
        n = len(v)
        out += bytes((0x80 | n,)) if n < 16 else (b"\xde" + n.to_bytes(2, "big") if n < 65536 else b"\xdf" + n.to_bytes(4, "big"))
        for key, item in dict.items(v):
            _pack(key, out)
            _pack(item, out)
    else:
        raise TypeError("cannot encode %s as msgpack" % type(v).__name__)
