"""The hypha_rpc-compatible server objects: async (awaitables) and sync (blocking), over the bridge peer."""
import asyncio
import concurrent.futures
import os
import threading

from .codec import ObjectProxy
from .events import get_hub
from .manager import ManagerMethods, camel_to_snake, missing_attribute
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


class _Server:
    """What both server objects share: the workspace manager's methods (forwarded generically), hypha_rpc's
    client-side helpers (events, probes, apps), camelCase aliases and item access, as hypha_rpc has them."""

    _blocking = False

    def __init__(self, info):
        info = dict(info)
        functions = info.pop("manager", None) or {}
        self.config = ObjectProxy(info)
        self._peer = get_peer()
        self._manager = ManagerMethods(self._peer, functions, self._blocking)
        self._events = get_hub(self._peer)

    def _deliver(self, future):
        return self._peer.deliver_blocking(future) if self._blocking else self._peer.deliver(future)

    # ---- events (hypha_rpc: on/off/once are plain calls, emit is awaitable) -----------------------
    def on(self, event, handler):
        self._events.on(event, handler)

    def once(self, event, handler):
        self._events.once(event, handler)

    def off(self, event=None, handler=None):
        self._events.off(event, handler)

    def emit(self, message):
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise ValueError("emit: the message must be a dict with a 'type', e.g. {'type': 'my-event', 'to': '*', 'data': ...}")
        if "to" not in message:
            # As hypha_rpc: a message without a target goes to this client's own handlers only.
            self._events.fire(message["type"], message)
            future = concurrent.futures.Future()
            future.set_result(None)
            return self._deliver(future)
        return self._deliver(self._peer.request({"t": "emit"}, payload=message))

    # ---- helpers hypha_rpc builds on register_service / get_service / list_services ---------------
    def register_probes(self, probes):
        probes = dict(probes, id="probes", name="Probes", type="probes", config={"visibility": "public"})
        probes["description"] = "Probes Service, visit %s/%s/services/probes for the available probes." % (
            str(self.config.get("public_base_url") or "").rstrip("/"), self.config.get("workspace"))
        return self.register_service(probes, {"overwrite": True})

    def export(self, api):
        api = dict(api) if isinstance(api, dict) else {a: getattr(api, a) for a in dir(api) if not a.startswith("_")}
        api["id"] = "default"
        return self.register_service(api, {"overwrite": True})

    def get_app(self, client_id="*"):
        if ":" in client_id:
            raise ValueError("get_app: client_id should not contain ':'")
        if "/" not in client_id:
            client_id = "%s/%s" % (self.config.get("workspace"), client_id)
        return self.get_service("%s:default" % client_id)

    def list_apps(self, workspace=None):
        return self.list_services({"workspace": workspace or self.config.get("workspace"), "service_id": "default"})

    # ---- names --------------------------------------------------------------------------------------
    def __getattr__(self, name):
        # Only reached for names the class does not define.
        if name.startswith("_"):
            raise AttributeError(name)
        method = self._manager.get(name)
        if method is not None:
            return method
        snake = camel_to_snake(name)
        if snake != name and not snake.startswith("_") and hasattr(type(self), snake):
            return getattr(self, snake)
        raise missing_attribute("%r object" % type(self).__name__, name, self._offered())

    def _offered(self):
        own = [n for n in dir(type(self)) if not n.startswith("_")]
        return set(own) | set(self._manager.names())

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._manager.names()))

    def __getitem__(self, key):
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


class AsyncServer(_Server):
    """What `await hypha_rpc.connect_to_server(...)` returns."""

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
        self._events.reset()
        return await self._call({"t": "disconnect"})


class SyncServer(_Server):
    """What `hypha_rpc.sync.connect_to_server(...)` returns: the same API, blocking."""

    _blocking = True

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
        self._events.reset()
        return self._call({"t": "disconnect"})


def _sid(service_id):
    if isinstance(service_id, dict):
        service_id = service_id.get("id")
    if not isinstance(service_id, str) or not service_id:
        raise ValueError("expected a service id string such as 'default' or 'workspace/client:default'")
    return service_id


def _closed_future(peer):
    future = concurrent.futures.Future()

    def wait():
        peer.closed.wait()
        future.set_result(None)

    threading.Thread(target=wait, name="hypha-bridge-serve", daemon=True).start()
    return future


def connect_request(config):
    peer = get_peer()
    return peer.request({"t": "connect"}, payload=check_config(config))
