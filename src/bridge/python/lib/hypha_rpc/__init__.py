"""hypha_rpc-compatible subset served by the hypha-conda-worker bridge (used when the env has no hypha-rpc).

The worker holds the real Hypha connection as this app's client; this module talks to the worker.
"""
import asyncio

from hypha_bridge.remote import RemoteException, get_peer
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


def split_service_uri(service_uri):
    """'{server_url}/{workspace}/services/{client_id}:{service_id}' -> (server_url, 'workspace/client_id:service_id')."""
    head, sep, tail = str(service_uri).rpartition("/services/")
    server_url, slash, workspace = head.rpartition("/")
    if not sep or not slash or not workspace or not tail:
        raise ValueError("service URI %r is not of the form {server_url}/{workspace}/services/{client_id}:{service_id}"
                         % (service_uri,))
    return server_url, "%s/%s" % (workspace, tail)


async def get_remote_service(service_uri, config=None, **kwargs):
    """Connects (through the worker) and returns the service named by a full service URI."""
    server_url, service_id = split_service_uri(service_uri)
    server = await connect_to_server(dict(config or {}, server_url=server_url, **kwargs))
    return await server.get_service(service_id)


connectToServer = connect_to_server
getRemoteService = get_remote_service

__all__ = ["connect_to_server", "connectToServer", "get_remote_service", "getRemoteService", "RemoteException",
           "ObjectProxy"]
