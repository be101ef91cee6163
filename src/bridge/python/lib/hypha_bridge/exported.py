"""`hypha_rpc.api`: the placeholder upstream apps export to (`api.export(obj)` registers service "default")."""
import asyncio
import os

_ENV = {"server_url": "HYPHA_SERVER_URL", "workspace": "HYPHA_WORKSPACE", "client_id": "HYPHA_CLIENT_ID",
        "token": "HYPHA_TOKEN"}


def _service_of(obj, config):
    import inspect  # loaded on export, not at start-up

    if isinstance(obj, type):
        obj = obj()
    if isinstance(obj, dict):
        service = {k: v for k, v in obj.items() if not k.startswith("_")}
    elif not inspect.isroutine(obj) and type(obj).__module__ != "builtins":
        service = {k: v for k, v in vars(obj).items() if not k.startswith("_")}
        service.update({k: getattr(obj, k) for k in dir(type(obj)) if not k.startswith("_") and callable(getattr(obj, k))})
    else:
        raise ValueError("api.export expects a class, a dict or a class instance")
    service["id"] = "default"
    if config:
        if not isinstance(config, dict):
            raise ValueError("api.export: config must be a dict")
        service["config"] = dict(service.get("config") or {}, **config)
    return service


class API:
    def __init__(self):
        self._registry = {}
        self._export_handler = self._default_export_handler

    def set_export_handler(self, handler):
        self._export_handler = handler

    def get_registry(self):
        return self._registry

    def export(self, obj, config=None, **kwargs):
        return self._export_handler(obj, config=config, **kwargs)

    def _default_export_handler(self, obj, config=None, **kwargs):
        self._registry[(config or {}).get("name", "default")] = obj
        service = _service_of(obj, config)
        wait = not kwargs.pop("skip_wait", False)
        settings = {key: os.environ.get(env) for key, env in _ENV.items()}
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = None
        if loop is None:
            from hypha_rpc.sync import connect_to_server

            server = connect_to_server(settings)
            server.register_service(service, **kwargs)
            if wait:
                server.serve()
            return None

        async def register():
            from hypha_rpc import connect_to_server

            server = await connect_to_server(settings)
            await server.register_service(service, **kwargs)
            if wait:
                await server.serve()

        return loop.create_task(register())
