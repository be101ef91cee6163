"""Utilities of the hypha_rpc subset served by the hypha-conda-worker bridge (`hypha_rpc.utils`)."""
import re

from hypha_bridge.codec import ObjectProxy
from hypha_bridge.manager import camel_to_snake, module_getattr
from .schema import schema_function, schema_method


class DefaultObjectProxy(ObjectProxy):
    """An ObjectProxy that answers None for missing keys and attributes."""

    def __getattr__(self, name):
        if name.startswith("_"):
            raise AttributeError(name)
        return self.get(name)

    def __getitem__(self, key):
        return dict.get(self, key)


dotdict = ObjectProxy


def to_camel_case(snake_str):
    if "_" not in snake_str:
        return snake_str[:1].lower() + snake_str[1:]
    first, *rest = snake_str.split("_")
    return first + "".join(part.title() for part in rest)


def to_snake_case(camel_str):
    return camel_to_snake(camel_str)


def parse_service_url(url):
    """`{server_url}/{workspace}/services/[{client_id}:]{service_id}[@{app_id}]` -> its five parts."""
    match = re.match(r"^(https?://[^/]+)/([a-z0-9_-]+)/services/(?:(?P<client_id>[a-zA-Z0-9_-]+):)?"
                     r"(?P<service_id>[a-zA-Z0-9_-]+)(?:@(?P<app_id>[a-zA-Z0-9_-]+))?", url.rstrip("/"))
    if not match:
        raise ValueError("URL does not match the expected pattern")
    return (match.group(1), match.group(2), match.group("client_id") or "*", match.group("service_id"),
            match.group("app_id") or "*")


__all__ = ["ObjectProxy", "DefaultObjectProxy", "dotdict", "schema_function", "schema_method", "to_camel_case",
           "to_snake_case", "parse_service_url"]
__getattr__ = module_getattr(__name__, lambda: __all__ + ["schema"])
