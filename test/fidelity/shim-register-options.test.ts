// In hypha_rpc (python/hypha_rpc/rpc.py, RPC.register_service(api, config=None, **kwargs)) the second
// argument and keyword arguments are registration options (overwrite, notify, check_type), never the
// service's own config. The bridge shim merged them into service["config"], so e.g.
// register_service(svc, {"visibility": "public"}) made a service public that real hypha_rpc keeps protected.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";
import { describe, expect, it } from "vitest";

const LIB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..", "src", "bridge", "python", "lib");

async function registered(call: string): Promise<Record<string, unknown>> {
  const script = [
    "import json",
    "from hypha_bridge.server import _service_request",
    "svc = {'id': 'default', 'config': {'visibility': 'protected'}, 'add': lambda a, b: a + b}",
    `out = ${call}`,
    "print(json.dumps({k: v for k, v in out.items() if not callable(v)}))",
  ].join("\n");
  const run = await execa("python3", ["-c", script], { env: { PYTHONPATH: LIB, PATH: process.env.PATH ?? "" }, extendEnv: false });
  return JSON.parse(run.stdout) as Record<string, unknown>;
}

describe("bridge shim register_service(service, config, **kwargs)", () => {
  it("keeps the service's own config whatever registration options are passed", async () => {
    expect(await registered("_service_request(svc, {'visibility': 'public', 'overwrite': True})")).toEqual({ id: "default", config: { visibility: "protected" } });
    expect(await registered("_service_request(svc, dict(notify=False, check_type=True))")).toEqual({ id: "default", config: { visibility: "protected" } });
  });

  it("still defaults the id and refuses a bad one", async () => {
    expect(await registered("_service_request({'f': len})")).toEqual({ id: "default" });
    await expect(registered("_service_request({'id': 'a:b'})")).rejects.toThrow(/service id/);
  });
});
