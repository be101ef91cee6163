"""hypha_rpc-compatible subset served by the hypha-conda-worker bridge (used when the env has no hypha-rpc).

The worker holds the real Hypha connection as this app's client; this module talks to the worker. The
server object answers every method of the workspace manager (forwarded), plus hypha_rpc's client helpers.
"""
import asyncio

from hypha_bridge.remote import RemoteException, get_peer
from hypha_bridge.codec import ObjectProxy
from hypha_bridge.manager import REAL_CLIENT_HINT, BridgeUnavailableError, module_getattr
from hypha_bridge import server as _server
from hypha_bridge.exported import API

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


def _unavailable(name, why):
    def unavailable(*args, **kwargs):
        raise BridgeUnavailableError("hypha_rpc.%s is not available in the hypha-conda-worker bridge: %s; %s"
                                     % (name, why, REAL_CLIENT_HINT))

    unavailable.__name__ = name
    return unavailable


_NO_LOGIN = "an app started by the worker is already signed in (HYPHA_TOKEN); pass it to connect_to_server()"
_NO_RTC = "WebRTC needs aiortc and the real client"
login = login_sync = _unavailable("login", _NO_LOGIN)
logout = logout_sync = _unavailable("logout", _NO_LOGIN)
get_rtc_service = get_rtc_service_sync = _unavailable("get_rtc_service", _NO_RTC)
register_rtc_service = register_rtc_service_sync = _unavailable("register_rtc_service", _NO_RTC)
setup_local_client = _unavailable("setup_local_client", "it runs only in Pyodide")


# The placeholder that upstream apps export to: api.export({...}) registers the service "default".
api = API()


def _sync_function(name):
    def load():
        # Lazy: importing hypha_rpc does not load the blocking variant until asked for.
        from . import sync

        return getattr(sync, name)

    return load


def _rpc_class():
    from .rpc import RPC

    return RPC


connectToServer = connect_to_server
getRemoteService = get_remote_service

__all__ = ["__version__", "api", "RPC", "login", "logout", "connect_to_server", "connectToServer", "get_remote_service",
           "getRemoteService", "login_sync", "logout_sync", "connect_to_server_sync", "get_remote_service_sync",
           "get_rtc_service", "register_rtc_service", "register_rtc_service_sync", "get_rtc_service_sync",
           "setup_local_client", "RemoteException", "ObjectProxy"]
__getattr__ = module_getattr(__name__, lambda: __all__ + ["sync", "rpc", "utils"], lazy={
    "connect_to_server_sync": _sync_function("connect_to_server"),
    "get_remote_service_sync": _sync_function("get_remote_service"), "RPC": _rpc_class})


def _announce_bridge_use():
    # Tells the worker this app talks to Hypha through the bridge, so it opens the app's connection now,
    # while the app's module is still running, rather than at connect_to_server().
    try:
        get_peer().notify({"t": "uses_bridge"})
    except Exception:
        pass  # outside a worker-started app (tests, tools): nothing to announce


_announce_bridge_use()
