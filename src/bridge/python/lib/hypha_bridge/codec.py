"""Value encoding between Python and the worker: JSON trees plus binary attachments.

Tags (objects with a "__b" key): bytes {"__b":"bytes","i"}, function reference {"__b":"fn","id",...},
ndarray {"__b":"nd","i","shape","dtype"}, non-finite float {"__b":"float","v"}, escaped dict
{"__b":"obj","v"}. Functions live in the table of the side that owns them until the other side releases
its proxy (garbage collection of the proxy sends a release).
"""
import itertools
import math
import sys
import threading
import weakref

MAX_DEPTH = 64


class ObjectProxy(dict):
    """A dict whose keys are also attributes, like hypha_rpc's ObjectProxy: a key wins over a dict method of
    the same name (`info.items` is the "items" entry when there is one)."""

    def __getattribute__(self, name):
        if not name.startswith("_") and dict.__contains__(self, name):
            return dict.__getitem__(self, name)
        return dict.__getattribute__(self, name)

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name) from None

    def __setattr__(self, name, value):
        self[name] = value

    def __delattr__(self, name):
        try:
            del self[name]
        except KeyError:
            raise AttributeError(name) from None

    @classmethod
    def fromDict(cls, d):
        if isinstance(d, dict):
            return cls((k, cls.fromDict(v)) for k, v in dict.items(d))
        if isinstance(d, (list, tuple)):
            return type(d)(cls.fromDict(v) for v in d)
        return d

    def toDict(self):
        def plain(v):
            if isinstance(v, dict):
                return {k: plain(x) for k, x in dict.items(v)}
            if isinstance(v, (list, tuple)):
                return type(v)(plain(x) for x in v)
            return v

        return plain(self)


def _param_names(fn):
    import inspect  # loaded on the first registration, not at start-up

    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.name != "context"]


_numpy_state = {"tried": False}


def _numpy(load=False):
    """numpy if the app imported it; with load=True also tries to import it once (for incoming arrays)."""
    np = sys.modules.get("numpy")
    if np is None and load and not _numpy_state["tried"]:
        _numpy_state["tried"] = True
        try:
            import numpy as np  # noqa: F811 (optional, only when the env has it)
        except ImportError:
            np = None
    return np


class FunctionTable:
    """Python callables the worker may call, by id."""

    def __init__(self):
        self._lock = threading.Lock()
        self._by_id = {}
        self._counter = itertools.count(1)

    def add(self, fn):
        fid = "p%d" % next(self._counter)
        with self._lock:
            self._by_id[fid] = fn
        return fid

    def get(self, fid):
        with self._lock:
            return self._by_id.get(fid)

    def release(self, ids):
        with self._lock:
            for fid in ids:
                self._by_id.pop(fid, None)


class Codec:
    """Encodes Python values for the wire and decodes wire values into Python (remote functions as proxies)."""

    def __init__(self, table, make_remote):
        self.table = table
        self._make_remote = make_remote

    def encode(self, value, blobs, depth=0):
        if depth > MAX_DEPTH:
            raise TypeError("value nested deeper than %d levels cannot be sent" % MAX_DEPTH)
        if value is None or isinstance(value, (bool, int, str)):
            return value
        if isinstance(value, float):
            if math.isfinite(value):
                return value
            return {"__b": "float", "v": repr(value)}
        if isinstance(value, (bytes, bytearray, memoryview)):
            blobs.append(bytes(value) if isinstance(value, memoryview) else value)
            return {"__b": "bytes", "i": len(blobs) - 1}
        if isinstance(value, (list, tuple)):
            return [self.encode(v, blobs, depth + 1) for v in value]
        if isinstance(value, dict):
            out = {}
            for key, item in dict.items(value):
                if not isinstance(key, str):
                    key = str(key)
                out[key] = self.encode(item, blobs, depth + 1)
            if "__b" in out:
                return {"__b": "obj", "v": out}
            return out
        remote_id = getattr(value, "_bridge_remote_id", None)
        if remote_id is not None:
            return {"__b": "fn", "id": remote_id}
        if callable(value):
            ref = {"__b": "fn", "id": self.table.add(value), "params": _param_names(value),
                   "name": getattr(value, "__name__", "function")}
            schema = getattr(value, "__schema__", None)
            if isinstance(schema, dict):
                ref["schema"] = self.encode(schema, blobs, depth + 1)
            return ref
        np = _numpy()
        if np is not None:
            if isinstance(value, np.ndarray):
                arr = np.ascontiguousarray(value)
                blobs.append(arr.tobytes())
                return {"__b": "nd", "i": len(blobs) - 1, "shape": list(arr.shape), "dtype": str(arr.dtype)}
            if isinstance(value, np.generic):
                return self.encode(value.item(), blobs, depth)
        if isinstance(value, (set, frozenset)):
            return [self.encode(v, blobs, depth + 1) for v in value]
        raise TypeError("cannot send a value of type %s to Hypha; use JSON types, bytes, lists, dicts, "
                        "functions or numpy arrays" % type(value).__name__)

    def decode(self, value, blobs):
        if isinstance(value, list):
            return [self.decode(v, blobs) for v in value]
        if not isinstance(value, dict):
            return value
        tag = value.get("__b")
        if tag is None:
            return ObjectProxy((k, self.decode(v, blobs)) for k, v in value.items())
        if tag == "bytes":
            return blobs[value["i"]]
        if tag == "fn":
            fid = value.get("id", "")
            if fid.startswith("p"):
                # One of ours coming back: the original function, not a proxy of a proxy.
                own = self.table.get(fid)
                if own is None:
                    raise LookupError("function %s is no longer available in the app" % fid)
                return own
            return self._make_remote(value)
        if tag == "nd":
            np = _numpy(load=True)
            data = blobs[value["i"]]
            if np is None:
                return ObjectProxy(_rtype="ndarray", _rvalue=data, _rshape=value["shape"], _rdtype=value["dtype"])
            return np.frombuffer(data, dtype=value["dtype"]).reshape(value["shape"]).copy()
        if tag == "float":
            return float(value["v"])
        if tag == "obj":
            return ObjectProxy((k, self.decode(v, blobs)) for k, v in value["v"].items())
        raise ValueError("unknown value tag %r from the worker" % tag)


def watch_release(proxy, fid, release):
    """Tells the worker to forget `fid` once `proxy` is garbage collected."""
    weakref.finalize(proxy, release, fid)


_RUNTIME_DIR = __import__("os").path.dirname(__import__("os").path.abspath(__file__))


def format_app_traceback(exc):
    """The exception's traceback without the bridge's own leading frames (what the app author needs)."""
    import os
    import traceback

    tb = exc.__traceback__
    while tb is not None and os.path.dirname(os.path.abspath(tb.tb_frame.f_code.co_filename)) == _RUNTIME_DIR:
        tb = tb.tb_next
    return traceback.format_exception(type(exc), exc, tb)
