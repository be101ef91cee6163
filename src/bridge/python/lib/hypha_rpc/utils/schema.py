"""`schema_function` / `schema_method` as in hypha_rpc.utils.schema, without pydantic.

The decorated function stays an ordinary callable; it gains `__schema__` (name, description, JSON-schema
parameters from the signature and annotations), as hypha-rpc does, so apps written with it import and run.
"""
import inspect

_JSON_TYPES = {int: "integer", float: "number", str: "string", bool: "boolean", list: "array", tuple: "array",
               dict: "object", bytes: "string"}


def _field_parts(default):
    # pydantic's Field(...) default (when the app has pydantic) carries a description and the real default.
    description = getattr(default, "description", None)
    if hasattr(default, "default") and type(default).__name__ == "FieldInfo":
        real = default.default
        missing = type(real).__name__ in ("PydanticUndefinedType", "ellipsis") or real is Ellipsis
        return (inspect.Parameter.empty if missing else real), description
    return default, None


def _parameter_schema(parameter):
    annotation = parameter.annotation
    schema = {}
    origin = getattr(annotation, "__origin__", annotation)
    if origin in _JSON_TYPES:
        schema["type"] = _JSON_TYPES[origin]
    default, description = _field_parts(parameter.default)
    if description:
        schema["description"] = description
    if default is not inspect.Parameter.empty and isinstance(default, (int, float, str, bool, type(None), list, dict)):
        schema["default"] = default
    return schema, default is inspect.Parameter.empty


def _build_schema(func, name, description, parameters):
    if parameters is None:
        properties, required = {}, []
        for pname, parameter in inspect.signature(func).parameters.items():
            if pname in ("self", "context") or parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
                continue
            properties[pname], is_required = _parameter_schema(parameter)
            if is_required:
                required.append(pname)
        parameters = {"type": "object", "properties": properties, "required": required}
    return {"name": name or func.__name__, "description": description or inspect.getdoc(func) or "",
            "parameters": parameters}


def schema_function(original_function=None, *, name=None, description=None, parameters=None, **_ignored):
    """Decorator: `@schema_function` or `@schema_function(name=..., description=...)`."""
    def decorate(func):
        func.__schema__ = _build_schema(func, name, description, parameters)
        return func

    return decorate(original_function) if callable(original_function) else decorate


schema_method = schema_function
