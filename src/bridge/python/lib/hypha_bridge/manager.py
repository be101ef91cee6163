"""The workspace manager's own methods on the app's server object, and the error for names nobody offers.

At connect the worker sends every remote method of the manager on the app's Hypha connection (its
`manager` entry, function references under upstream's names); each becomes a method of the server
object that calls it like any service function (arguments, keywords, callbacks, bytes, errors).
"""
import re
import sys

REAL_CLIENT_HINT = ("if the app needs the real hypha_rpc client, list it in the app's pip dependencies "
                    "(dependencies: [{pip: [hypha-rpc]}]); the worker then runs the app with it instead of this bridge")


class BridgeUnavailableError(RuntimeError):
    """A hypha_rpc feature the bridge deliberately does not offer (login, WebRTC, the RPC engine): the worker
    holds the app's connection, so these cannot work here; the message says why and how to get the real client."""


def camel_to_snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


class ManagerMethods:
    """`name -> callable` for the manager's methods; `blocking` picks the hypha_rpc.sync style."""

    def __init__(self, peer, functions, blocking):
        self._peer = peer
        self._functions = dict(functions or {})  # holding the proxies keeps the worker's functions alive
        self._blocking = blocking
        self._bound = {}

    def names(self):
        return sorted(self._functions)

    def get(self, name):
        key = name if name in self._functions else camel_to_snake(name)
        remote = self._functions.get(key)
        if remote is None:
            return None
        method = self._bound.get(key)
        if method is None:
            method = self._bound[key] = self._bind(key, remote)
        return method

    def _bind(self, name, remote):
        peer = self._peer
        fid = remote._bridge_remote_id

        def send(args, kwargs):
            return peer.request({"t": "call", "fn": fid}, args=list(args), kwargs=kwargs)

        if self._blocking:
            def method(*args, **kwargs):
                return peer.deliver_blocking(send(args, kwargs))
        else:
            def method(*args, **kwargs):
                # Sent at once (as hypha_rpc's remote methods); awaitable inside a running loop.
                return peer.deliver(send(args, kwargs))
        method.__name__ = method.__qualname__ = name
        method.__doc__ = "The Hypha workspace manager's %s (forwarded by the hypha-conda-worker bridge)." % name
        method._bridge_remote_id = fid  # passed as a value, it travels as the manager's own function
        return method


def missing_attribute(owner, name, offered):
    """The AttributeError for `owner.name` when neither the server nor the bridge has it."""
    if name.startswith("_"):
        return AttributeError(name)
    return AttributeError("%s has no attribute %r: neither the Hypha server's workspace manager nor the hypha-conda-worker "
                          "bridge offers it (available: %s); %s" % (owner, name, ", ".join(sorted(offered)), REAL_CLIENT_HINT))


def _importing(depth):
    """True when the caller `depth` frames up is running `from module import name`."""
    try:
        import dis

        frame = sys._getframe(depth)
        return frame.f_code.co_code[frame.f_lasti] == dis.opmap["IMPORT_FROM"]
    except Exception:
        return False


def module_getattr(module_name, provided, lazy=None):
    """A module `__getattr__` (PEP 562) whose error names the missing attribute and the way out; `lazy`
    maps names loaded on first use to their loader.

    `from module import missing` would replace an AttributeError's text with a generic one, so such
    imports get an ImportError with the same text; `hasattr()` and `getattr(m, n, default)` still work.
    """

    def __getattr__(name):
        if lazy and name in lazy:
            return lazy[name]()
        if name.startswith("__"):
            raise AttributeError("module %r has no attribute %r" % (module_name, name))
        text = ("module %r of the hypha-conda-worker bridge has no attribute %r (it provides: %s); %s"
                % (module_name, name, ", ".join(sorted(provided())), REAL_CLIENT_HINT))
        if _importing(2):
            raise ImportError(text, name=name)
        raise AttributeError(text)

    return __getattr__
