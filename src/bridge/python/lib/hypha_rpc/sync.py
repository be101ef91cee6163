"""Blocking form of the bridge's hypha_rpc subset: `from hypha_rpc.sync import connect_to_server`."""
from hypha_bridge.remote import RemoteException, get_peer
from hypha_bridge.codec import ObjectProxy
from hypha_bridge.manager import module_getattr
from hypha_bridge import server as _server


def connect_to_server(config=None, **kwargs):
    """Connects this app to Hypha through the worker; returns a server object with blocking methods."""
    config = dict(config or {}, **kwargs)
    peer = get_peer()
    info = peer.deliver_blocking(_server.connect_request(config))
    _server.state["connected"] = True
    return _server.SyncServer(info)


def get_remote_service(service_uri, config=None, **kwargs):
    """Connects (through the worker) and returns the service named by a full service URI."""
    from hypha_rpc import split_service_uri

    server_url, service_id = split_service_uri(service_uri)
    server = connect_to_server(dict(config or {}, server_url=server_url, **kwargs))
    return server.get_service(service_id)


connectToServer = connect_to_server
getRemoteService = get_remote_service

from hypha_rpc import login, logout, get_rtc_service, register_rtc_service  # noqa: E402 (same placeholders)

__all__ = ["connect_to_server", "connectToServer", "get_remote_service", "getRemoteService", "RemoteException",
           "ObjectProxy", "login", "logout", "get_rtc_service", "register_rtc_service"]
__getattr__ = module_getattr(__name__, lambda: __all__)
