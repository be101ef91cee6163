"""A small direct Hypha RPC client for the bridge-vs-direct benchmark: msgpack (C extension) and the
`websockets` library, as the real hypha_rpc uses. It connects with the app's identity, registers services
with the workspace manager and answers calls the way hypha_rpc does on the wire: two-segment msgpack frames,
`services.<id>.<fn>` methods, resolve/reject callbacks (or the "*" shorthand), the built-in service's
get_service and message_cache (large calls arrive in 256 KiB chunks), and large replies sent in chunks to
the caller's message_cache. It does less than hypha_rpc (no heartbeats, no schemas, no reconnection), so
it is, if anything, faster than the real client: a strict reference for the bridge.
"""
import asyncio
import inspect
import json
import uuid

import msgpack
from websockets.asyncio.client import connect as ws_connect

CHUNK_SIZE = 256 * 1024
API_VERSION = 3
_CACHE_METHODS = ("create", "append", "set", "process", "remove")


def _pack(main, extra=None):
    return msgpack.packb(main) + (msgpack.packb(extra) if extra is not None else b"")


def _unpack(data):
    unpacker = msgpack.Unpacker(raw=False, max_buffer_size=0)
    unpacker.feed(data)
    parts = list(unpacker)
    message = dict(parts[0])
    if len(parts) > 1:
        message.update(parts[1])
    return message


async def connect_to_server(config):
    """`config`: server_url, workspace, client_id, token (the HYPHA_* values the worker gives an app)."""
    url = config["server_url"].replace("http", "ws", 1).rstrip("/") + "/ws"
    socket = await ws_connect(url, max_size=None, ping_interval=None)
    hello = {"client_id": config["client_id"], "workspace": config.get("workspace"), "token": config.get("token"),
             "reconnection_token": None}
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
        self._cache = {}
        self._tasks = set()
        self._reader = None

    def start(self):
        self._reader = asyncio.ensure_future(self._read_loop())

    async def register_service(self, service, options=None):
        sid = service.get("id", "default")
        self._services[sid] = service
        config = dict(service.get("config") or {})
        config["workspace"] = self.config["workspace"]
        info = {"id": "%s:%s" % (self.me, sid), "name": service.get("name", sid), "type": service.get("type", "generic"),
                "description": service.get("description", ""), "config": config, "app_id": "*", "service_schema": {}}
        await self._call(self._manager, "services.default.register_service", [info])
        return info

    async def serve(self):
        await self._reader

    async def disconnect(self):
        if self._reader:
            self._reader.cancel()
        await self._socket.close()

    # ---- outgoing ----------------------------------------------------------------------------------
    async def _call(self, target, method, args, parent=None):
        session = uuid.uuid4().hex
        future = asyncio.get_running_loop().create_future()
        self._pending[session] = future
        main = {"type": "method", "from": self.me, "to": target, "method": method, "session": session}
        if parent:
            main["parent"] = parent
        try:
            await self._socket.send(_pack(main, {"args": args, "promise": "*"}))
            return await future
        finally:
            self._pending.pop(session, None)

    async def _send_call(self, target, method, args, parent):
        """A fire-and-forget call (a resolve/reject); over CHUNK_SIZE it goes through the target's message_cache."""
        package = _pack({"type": "method", "from": self.me, "to": target, "method": method}, {"args": args})
        if len(package) <= CHUNK_SIZE + 1024:
            await self._socket.send(package)
            return
        builtin = "services.built-in.message_cache."
        await self._call(target, "services.built-in.get_service", ["built-in"])
        key = parent or uuid.uuid4().hex
        await self._call(target, builtin + "create", [key, bool(parent)])
        await asyncio.gather(*(self._call(target, builtin + "set", [key, i, package[start:start + CHUNK_SIZE], bool(parent)])
                               for i, start in enumerate(range(0, len(package), CHUNK_SIZE))))
        await self._call(target, builtin + "process", [key, bool(parent)])

    # ---- incoming ----------------------------------------------------------------------------------
    async def _read_loop(self):
        async for message in self._socket:
            if isinstance(message, str):
                continue  # pong, reconnection_token
            data = _unpack(message)
            if data.get("type") == "method":
                self._spawn(self._on_method(data))

    def _spawn(self, coroutine):
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _on_method(self, data):
        path = data["method"].split(".")
        if len(path) == 2 and path[0] in self._pending:
            future = self._pending[path[0]]
            if not future.done():
                value = (data.get("args") or [None])[0]
                if path[1] == "resolve":
                    future.set_result(value)
                else:
                    future.set_exception(RuntimeError(str(value.get("_rvalue", value) if isinstance(value, dict) else value)))
            return
        resolve, reject = self._promise_of(data)
        try:
            result = await self._dispatch(path, data)
            if resolve:
                await self._send_call(resolve[0], resolve[1], [result], data.get("session"))
        except Exception as exc:
            if reject:
                error = {"_rtype": "error", "_rvalue": "%s: %s" % (type(exc).__name__, exc), "_rtrace": ""}
                await self._send_call(reject[0], reject[1], [error], data.get("session"))

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
        kwargs = args.pop() if data.get("with_kwargs") and args and isinstance(args[-1], dict) else {}
        if path[:2] == ["services", "built-in"]:
            return self._builtin(path[2:], args, data)
        if len(path) == 3 and path[0] == "services" and path[1] in self._services:
            result = self._services[path[1]][path[2]](*args, **kwargs)
            return await result if inspect.isawaitable(result) else result
        raise KeyError("method not found: %s" % ".".join(path))

    def _builtin(self, path, args, data):
        if path == ["get_service"]:
            return self._describe(args[0].split(":")[-1])
        if path == ["ping"]:
            return "pong"
        if len(path) == 2 and path[0] == "message_cache" and path[1] in _CACHE_METHODS:
            return self._message_cache(path[1], args, data)
        raise KeyError("method not found: services.built-in.%s" % ".".join(path))

    def _message_cache(self, op, args, data):
        key = args[0]
        if op == "create":
            self._cache[key] = {}
        elif op == "append":
            chunks = self._cache[key]
            chunks[len(chunks)] = args[1]
        elif op == "set":
            self._cache[key][args[1]] = args[2]
        elif op == "remove":
            self._cache.pop(key, None)
        else:
            chunks = self._cache.pop(key)
            message = _unpack(b"".join(chunks[i] for i in sorted(chunks)))
            message.update({"from": data["from"], "to": data.get("to"), "ws": data.get("ws"), "user": data.get("user")})
            if message.get("type") == "method":
                self._spawn(self._on_method(message))
        return None

    def _method_ref(self, sid, name):
        return {"_rtype": "method", "_rtarget": self.me, "_rmethod": "services.%s.%s" % (sid, name), "_rpromise": True, "_rname": name}

    def _describe(self, sid):
        if sid == "built-in":
            out = {"id": "%s:built-in" % self.me, "type": "built-in", "config": {"require_context": True, "visibility": "public", "api_version": API_VERSION},
                   "ping": self._method_ref("built-in", "ping"), "get_service": self._method_ref("built-in", "get_service"),
                   "message_cache": {name: self._method_ref("built-in", "message_cache.%s" % name) for name in _CACHE_METHODS}}
            return out
        service = self._services[sid]
        encoded = {"id": "%s:%s" % (self.me, sid), "config": dict(service.get("config") or {})}
        for key, value in service.items():
            if callable(value):
                encoded[key] = self._method_ref(sid, key)
            elif key not in ("config", "id"):
                encoded[key] = value
        return encoded
