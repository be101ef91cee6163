"""The hypha_rpc-compatible server objects: async (awaitables) and sync (blocking), over the bridge peer."""
import asyncio
import os
import threading

from .codec import ObjectProxy
from .remote import get_peer

_ENV_KEYS = {"server_url": "HYPHA_SERVER_URL", "workspace": "HYPHA_WORKSPACE", "client_id": "HYPHA_CLIENT_ID",
             "token": "HYPHA_TOKEN"}
state = {"connected": False}


def check_config(config):
    """Returns the connect request for `config`; settings that name another server/workspace/client fail."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError("connect_to_server expects a dict like {'server_url': ..., 'workspace': ..., 'token': ...}")
    given = dict(config)
    if "server_url" not in given and "url" in given:
        given["server_url"] = given["url"]
    request = {}
    for key, env in _ENV_KEYS.items():
        value = given.get(key)
        if value in (None, ""):
            continue
        expected = os.environ.get(env)
        if expected and str(value).rstrip("/") != expected.rstrip("/"):
            shown = "(hidden)" if key == "token" else repr(value)
            raise ValueError("connect_to_server: %s %s does not match this app's session; pass os.environ['%s'] "
                             "(the worker connects the app as its own client)" % (key, shown, env))
        request[key] = str(value)
    timeout = given.get("method_timeout")
    if timeout is not None:
        get_peer().method_timeout = float(timeout)
    return request


def _service_request(service, options=None):
    """The service to register. `options` are hypha_rpc's registration options (overwrite, notify,
    check_type), not the service's config: the worker always registers with overwrite, so they are ignored."""
    if not isinstance(service, dict):
        raise TypeError("register_service expects a dict of functions with an 'id', e.g. {'id': 'default', 'add': add}")
    service = dict(service)
    service.setdefault("id", "default")
    if not isinstance(service["id"], str) or not service["id"] or ":" in service["id"] or "/" in service["id"]:
        raise ValueError("service id %r is invalid: use a short name like 'default' (no ':' or '/')" % (service["id"],))
    return service


class _ServerAccess:
    """camelCase aliases and item access, as hypha-rpc's server objects have them (async and sync alike)."""

    def registerService(self, *args, **kwargs):
        return self.register_service(*args, **kwargs)

    def unregisterService(self, *args, **kwargs):
        return self.unregister_service(*args, **kwargs)

    def getService(self, *args, **kwargs):
        return self.get_service(*args, **kwargs)

    def listServices(self, *args, **kwargs):
        return self.list_services(*args, **kwargs)

    def __getitem__(self, key):
        return getattr(self, key)


class AsyncServer(_ServerAccess):
    """What `await hypha_rpc.connect_to_server(...)` returns."""

    def __init__(self, info):
        self.config = ObjectProxy(info)
        self._peer = get_peer()

    def _call(self, message, **kw):
        return asyncio.wrap_future(self._peer.request(message, **kw))

    async def register_service(self, service, config=None, **kwargs):
        service = _service_request(service, dict(config or {}, **kwargs))
        return await self._call({"t": "register"}, payload=service)

    async def unregister_service(self, service_id, **kwargs):
        return await self._call({"t": "unregister", "sid": _sid(service_id)})

    async def get_service(self, service_id, config=None, **kwargs):
        return await self._call({"t": "get_service", "sid": _sid(service_id)}, payload=dict(config or {}, **kwargs))

    async def list_services(self, query=None, **kwargs):
        return await self._call({"t": "list_services"}, payload=query if query is not None else kwargs)

    async def serve(self):
        await asyncio.wrap_future(_closed_future(self._peer))

    async def disconnect(self):
        state["connected"] = False
        return await self._call({"t": "disconnect"})


class SyncServer(_ServerAccess):
    """What `hypha_rpc.sync.connect_to_server(...)` returns: the same API, blocking."""

    def __init__(self, info):
        self.config = ObjectProxy(info)
        self._peer = get_peer()

    def _call(self, message, **kw):
        return self._peer.deliver_blocking(self._peer.request(message, **kw))

    def register_service(self, service, config=None, **kwargs):
        service = _service_request(service, dict(config or {}, **kwargs))
        return self._call({"t": "register"}, payload=service)

    def unregister_service(self, service_id, **kwargs):
        return self._call({"t": "unregister", "sid": _sid(service_id)})

    def get_service(self, service_id, config=None, **kwargs):
        return self._call({"t": "get_service", "sid": _sid(service_id)}, payload=dict(config or {}, **kwargs))

    def list_services(self, query=None, **kwargs):
        return self._call({"t": "list_services"}, payload=query if query is not None else kwargs)

    def serve(self):
        if threading.current_thread() is threading.main_thread() and self._peer.executor is not None:
            # The main thread idles here: execute() runs on it (interruptible, see execute.py).
            self._peer.executor.serve_on_main(self._peer.closed)
            return
        # Short waits keep the thread responsive to signals (SIGTERM stops the app).
        while not self._peer.closed.wait(1.0):
            pass

    def disconnect(self):
        state["connected"] = False
        return self._call({"t": "disconnect"})


def _sid(service_id):
    if isinstance(service_id, dict):
        service_id = service_id.get("id")
    if not isinstance(service_id, str) or not service_id:
        raise ValueError("expected a service id string such as 'default' or 'workspace/client:default'")
    return service_id


def _closed_future(peer):
    import concurrent.futures
    import threading

    future = concurrent.futures.Future()

    def wait():
        peer.closed.wait()
        future.set_result(None)

    threading.Thread(target=wait, name="hypha-bridge-serve", daemon=True).start()
    return future


def connect_request(config):
    peer = get_peer()
    return peer.request({"t": "connect"}, payload=check_config(config))
