"""`hypha_rpc.rpc` names that apps import (for type hints, isinstance checks and error handling).

The bridge has no RPC engine of its own in the app: the worker speaks hypha-rpc for it. `RPC` is here
so imports work; building one says what to do instead.
"""
from hypha_bridge.codec import ObjectProxy
from hypha_bridge.manager import REAL_CLIENT_HINT, BridgeUnavailableError, module_getattr
from hypha_bridge.remote import RemoteException, RemoteFunction


class RemoteService(ObjectProxy):
    """A service object as get_service returns it (the bridge returns ObjectProxy dicts of callables)."""


class RPC:
    """hypha_rpc's RPC engine: not available in the bridge."""

    def __init__(self, *args, **kwargs):
        raise BridgeUnavailableError("hypha_rpc.rpc.RPC is not available in the hypha-conda-worker bridge: connect with "
                                     "hypha_rpc.connect_to_server(); " + REAL_CLIENT_HINT)


__all__ = ["RPC", "RemoteException", "RemoteFunction", "RemoteService", "ObjectProxy"]
__getattr__ = module_getattr(__name__, lambda: __all__)
