import type { ServiceMode } from "../../src/bridge/types.js";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { startHyphaTestServer, type HyphaTestServer } from "../support/hypha-server.js";
import { localIdentity, startApp, type RunningApp } from "./helpers.js";

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

export type Service = Record<string, (...args: unknown[]) => Promise<unknown>>;
export const CALLS_WS = "ws-user-carol";

export interface CallsRig { server: HyphaTestServer; app: RunningApp; caller: HyphaServer; svc: Service; close(): Promise<void> }

/**
 * The test server, CALLS_APP as client `clientId` with `mode`, and a caller whose method_timeout is 1 s
 * (hypha-rpc then asks for a heartbeat every 0.5 s and gives up after 1 s without one).
 */
export async function startCallsRig(clientId: string, mode: ServiceMode): Promise<CallsRig> {
  const server = await startHyphaTestServer();
  const token = (id: string) => server.issueToken({ workspace: CALLS_WS, clientId: id, userId: "carol" });
  const app = startApp(CALLS_APP, { identity: localIdentity({ serverUrl: server.url, workspace: CALLS_WS, clientId, token: token(clientId) }), mode });
  await app.host.waitForService("ctx", 15_000);
  const callerId = `${clientId}-caller`;
  const caller = await connectToHypha({ server_url: server.url, workspace: CALLS_WS, client_id: callerId, token: token(callerId), method_timeout: 1 });
  const svc = (await caller.getService(`${CALLS_WS}/${clientId}:default`)) as unknown as Service;
  return {
    server, app, caller, svc,
    async close() {
      await caller.disconnect().catch(() => undefined);
      await app.stop();
      await server.stop();
    },
  };
}
