/**
 * A Python app for the call-path tests (test/bridge/fast-calls-e2e.test.ts, socket/app-socket-e2e.test.ts):
 * sync and async functions, keyword defaults, a require_context service, a long sync call, callbacks, an
 * error, bytes, and results the fast paths do not encode themselves (a function, a set).
 */
export const CALLS_APP = `
import asyncio, os, time
from hypha_rpc import connect_to_server

def scaled(x, factor=2):
    return x * factor

async def anap(seconds):
    await asyncio.sleep(seconds)
    return "rested"

def caller_of(context=None):
    return {"ws": context["ws"], "from": context["from"]}

def fail():
    raise KeyError("no such thing")

async def main():
    server = await connect_to_server({"server_url": os.environ["HYPHA_SERVER_URL"], "workspace": os.environ["HYPHA_WORKSPACE"],
        "client_id": os.environ["HYPHA_CLIENT_ID"], "token": os.environ["HYPHA_TOKEN"]})
    await server.register_service({"id": "default", "config": {"visibility": "public"}, "scaled": scaled, "anap": anap,
        "nap": lambda s: time.sleep(s) or "slept", "echo": lambda v: v, "apply": lambda f, x: f(x), "fail": fail,
        "info": lambda: {"pi": 3.5, "list": [1, None, "x"], "raw": b"ab"}, "adder": lambda n: (lambda x: x + n),
        "as_set": lambda: {3, 1, 2}})
    await server.register_service({"id": "ctx", "config": {"visibility": "public", "require_context": True}, "caller_of": caller_of})
    await server.serve()

asyncio.run(main())
`;
