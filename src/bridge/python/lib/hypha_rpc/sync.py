"""Blocking form of the bridge's hypha_rpc subset: `from hypha_rpc.sync import connect_to_server`."""
from hypha_bridge.peer import RemoteException, get_peer
from hypha_bridge import server as _server


def connect_to_server(config=None, **kwargs):
    """Connects this app to Hypha through the worker; returns a server object with blocking methods."""
    config = dict(config or {}, **kwargs)
    peer = get_peer()
    info = _server.connect_request(config).result(timeout=peer.method_timeout)
    _server.state["connected"] = True
    return _server.SyncServer(info)


connectToServer = connect_to_server

__all__ = ["connect_to_server", "connectToServer", "RemoteException"]
