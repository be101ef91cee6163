"""hypha_rpc-compatible subset served by the hypha-conda-worker bridge (used when the env has no hypha-rpc).

The worker holds the real Hypha connection as this app's client; this module talks to the worker.
"""
import asyncio

from hypha_bridge.peer import RemoteException, get_peer
from hypha_bridge.codec import ObjectProxy
from hypha_bridge import server as _server

__version__ = "0.0.0+hypha-conda-worker-bridge"


async def connect_to_server(config=None, **kwargs):
    """Connects this app to Hypha through the worker; returns a server object with awaitable methods."""
    config = dict(config or {}, **kwargs)
    peer = get_peer()
    peer.home_loop = asyncio.get_running_loop()
    info = await asyncio.wrap_future(_server.connect_request(config))
    _server.state["connected"] = True
    return _server.AsyncServer(info)


async def get_remote_service(service_uri, config=None, **kwargs):
    raise RemoteException("get_remote_service is not available through the worker bridge; use "
                          "connect_to_server() then server.get_service(id)")


connectToServer = connect_to_server

__all__ = ["connect_to_server", "connectToServer", "RemoteException", "ObjectProxy"]
