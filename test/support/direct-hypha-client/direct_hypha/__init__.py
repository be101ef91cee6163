"""A small direct Hypha client for tests (stdlib only): connects to the server with the app's identity,
registers services with the workspace manager and answers calls to them, the way hypha_rpc does on the
wire (two-segment msgpack frames, `services.<id>.<fn>` methods, resolve/reject callbacks). It lives in
tasks on the caller's event loop, like the real hypha_rpc's async client."""
import asyncio
import inspect
import json
import uuid

from .msgpack_lite import pack, unpack_all
from .ws_lite import ConnectionClosed, WebSocket

__all__ = ["connect_to_server", "ConnectionClosed"]


async def connect_to_server(config):
    """`config`: server_url, workspace, client_id, token (the HYPHA_* values the worker gives an app)."""
    url = config["server_url"].replace("http://", "ws://", 1).rstrip("/") + "/ws"
    socket = await WebSocket.open(url)
    hello = {"client_id": config["client_id"], "workspace": config["workspace"], "token": config.get("token"), "reconnection_token": None}
    await socket.send(json.dumps(hello))
    info = json.loads(await socket.recv())
    if info.get("type") != "connection_info":
        await socket.close()
        raise ConnectionError("the server refused the connection: %s" % info.get("message", info))
    client = DirectClient(socket, info)
    client.start()
    return client


class DirectClient:
    def __init__(self, socket, info):
        self._socket = socket
        self.config = info
        self.me = "%s/%s" % (info["workspace"], info["client_id"])
        self._manager = "*/%s" % info["manager_id"]
        self._services = {}
        self._pending = {}
        self._reader = None

    def start(self):
        self._reader = asyncio.ensure_future(self._read_loop())

    async def register_service(self, service):
        """Registers `service` (a dict of functions with `id` and optional `config`); returns its info."""
        sid = service.get("id", "default")
        self._services[sid] = service
        config = dict(service.get("config") or {})
        config["workspace"] = self.config["workspace"]
        info = {"id": "%s:%s" % (self.me, sid), "name": service.get("name", sid), "type": service.get("type", "generic"),
                "description": service.get("description", ""), "config": config, "app_id": "*", "service_schema": {}}
        await self._call(self._manager, "services.default.register_service", [info])
        return info

    async def disconnect(self):
        if self._reader:
            self._reader.cancel()
        await self._socket.close()

    async def _call(self, target, method, args):
        session = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._pending[session] = future
        callbacks = {name: {"_rtype": "method", "_rtarget": self.me, "_rmethod": "%s.%s" % (session, name)} for name in ("resolve", "reject")}
        await self._send({"type": "method", "from": self.me, "to": target, "method": method, "session": session}, {"args": args, "promise": callbacks})
        try:
            return await future
        finally:
            self._pending.pop(session, None)

    async def _send(self, main, extra=None):
        await self._socket.send(pack(main) + (pack(extra) if extra is not None else b""))

    async def _read_loop(self):
        while True:
            message = await self._socket.recv()
            if isinstance(message, str):
                continue  # pong, reconnection_token: nothing to do for a test client
            parts = unpack_all(message)
            data = dict(parts[0])
            if len(parts) > 1:
                data.update(parts[1])
            if data.get("type") == "method":
                asyncio.ensure_future(self._on_method(data))

    async def _on_method(self, data):
        path = data["method"].split(".")
        if len(path) == 2 and path[0] in self._pending:
            future = self._pending[path[0]]
            if not future.done():
                value = (data.get("args") or [None])[0]
                if path[1] == "resolve":
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(str(value.get("message", value) if isinstance(value, dict) else value)))
            return
        resolve, reject = self._promise_of(data)
        try:
            result = await self._dispatch(path, data)
            if resolve:
                await self._send({"type": "method", "from": self.me, "to": resolve[0], "method": resolve[1]}, {"args": [result]})
        except Exception as exc:
            if reject:
                error = {"_rtype": "error", "_rvalue": "%s: %s" % (type(exc).__name__, exc), "_rtrace": ""}
                await self._send({"type": "method", "from": self.me, "to": reject[0], "method": reject[1]}, {"args": [error]})

    def _promise_of(self, data):
        promise = data.get("promise")
        if promise == "*":
            return (data["from"], "%s.resolve" % data["session"]), (data["from"], "%s.reject" % data["session"])
        if not isinstance(promise, dict):
            return None, None
        caller_ws = data["from"].split("/")[0]

        def target(ref):
            return (ref["_rtarget"] if "/" in ref["_rtarget"] else "%s/%s" % (caller_ws, ref["_rtarget"])), ref["_rmethod"]

        return target(promise["resolve"]), target(promise["reject"])

    async def _dispatch(self, path, data):
        args = list(data.get("args") or [])
        if data.get("with_kwargs") and args and isinstance(args[-1], dict):
            kwargs = args.pop()
        else:
            kwargs = {}
        if path[:3] == ["services", "built-in", "get_service"]:
            return self._encode_service((args or [kwargs.get("service_id")])[0])
        if len(path) == 3 and path[0] == "services" and path[1] in self._services:
            result = self._services[path[1]][path[2]](*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        raise KeyError("method not found: %s" % ".".join(path))

    def _encode_service(self, service_id):
        sid = service_id.split(":")[-1]
        service = self._services[sid]
        encoded = {"id": "%s:%s" % (self.me, sid), "config": dict(service.get("config") or {})}
        for key, value in service.items():
            if callable(value):
                encoded[key] = {"_rtype": "method", "_rtarget": self.me, "_rmethod": "services.%s.%s" % (sid, key), "_rpromise": True, "_rname": key}
            elif key not in ("config", "id"):
                encoded[key] = value
        return encoded
