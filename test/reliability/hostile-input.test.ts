/**
 * Hostile input against a live worker service (the real worker, sessions, env layer and bridge): bad
 * manifests, start configs, a malicious app-files server, bad RPC arguments, prototype-pollution keys and
 * garbage on the bridge wire. Each case must fail with a clear, typed error, leave nothing behind (no
 * new env, no lock, lease or working dir), pollute nothing, and a following good start must work.
 * Unit-level tables: test/env/spec-bad-input.test.ts, test/worker/start-config.test.ts,
 * test/session/app-files.test.ts, test/session/staging.test.ts, test/bridge/wire.test.ts.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { encode } from "@msgpack/msgpack";
import { connectToHypha, type HyphaServer } from "../../src/hypha/connect.js";
import { openRawClient } from "../support/hypha-server/raw-client.js";
import { ALICE, Rig } from "./support/rig.js";

type Fn = (...args: unknown[]) => Promise<unknown>;
let rig: Rig;
let goodApp: string;
let envsBefore: string[];
// Worker errors carry their code in brackets; argument-shape errors of the calling convention arrive as UsageError.
const TYPED = /\[E_[A-Z_]+\]|^RemoteError: UsageError: /;
const seen: Array<[string, string]> = [];

/** Answers GET /evil/<case>/files/<path> the way a malicious artifact server might. */
function evilFiles(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const match = /^\/evil\/([^/]+)\/files\/(.*)$/.exec(url.pathname);
  if (!match) return false;
  const [, kind, file] = match as unknown as [string, string, string];
  const json = (body: unknown) => res.writeHead(200, { "content-type": "application/json" }).end(typeof body === "string" ? body : JSON.stringify(body));
  if (file === "main.py") {
    if (kind === "http-500") return void res.writeHead(500).end("internal error"), true;
    if (kind === "no-entry") return void res.writeHead(404).end("{}"), true;
    if (kind === "huge-entry") {
      res.writeHead(200, { "content-length": String(512 * 1024 * 1024) });
      res.write(Buffer.alloc(64 * 1024, 0x23));
      setTimeout(() => res.destroy(), 200);
      return true;
    }
    return void res.writeHead(200).end("print('should not run')\n"), true;
  }
  // An app without a lock: 404, as the real server answers for a file the app does not have.
  if (file === "hypha-conda.lock.json") return void (kind === "lock-garbage" ? res.writeHead(200).end("abc") : res.writeHead(404).end("{}")), true;
  if (file === "data/") {
    const listings: Record<string, unknown> = {
      "listing-dotdot": [{ name: "../escape.txt", type: "file", size: 3 }],
      "listing-absolute": [{ name: "/etc/passwd", type: "file", size: 3 }],
      "listing-slash": [{ name: "a/b.txt", type: "file", size: 3 }],
      "listing-nul": [{ name: "a\u0000b", type: "file", size: 3 }],
      "listing-not-array": { name: "x", type: "file" },
      "listing-bad-type": [{ name: "link", type: "symlink", size: 3 }],
      "listing-not-json": "<html>not json</html>",
      "listing-huge-size": [{ name: "big.bin", type: "file", size: 1e15 }],
      "listing-dot": [{ name: "..", type: "directory", size: 3 }],
    };
    json(listings[kind] ?? []);
    return true;
  }
  if (file === "data/big.bin") {
    res.writeHead(200, { "content-length": String(2 * 1024 * 1024 * 1024) });
    res.write(Buffer.alloc(64 * 1024));
    setTimeout(() => res.destroy(), 200);
    return true;
  }
  res.writeHead(200).end("abc");
  return true;
}

/** Python entry points that write to the bridge channel (fd 3) behind the runner's back. */
const WIRE = {
  garbage: "os.write(3, b'GARBAGE!' * 64)",
  hugeHeader: "os.write(3, b'\\xff\\xff\\xff\\xff')",
  overLimitHeader: "os.write(3, (64 * 1024 * 1024 + 1024).to_bytes(4, 'big') + b'\\x01')",
  zeroLength: "os.write(3, b'\\x00\\x00\\x00\\x00')",
  unknownKind: "os.write(3, (5).to_bytes(4, 'big') + b'\\x09abcd')",
  notAnObject: "os.write(3, (6).to_bytes(4, 'big') + b'\\x01[1,2]')",
  noType: "os.write(3, (8).to_bytes(4, 'big') + b'\\x01{\"x\":1}')",
  badUtf8Json: "os.write(3, (5).to_bytes(4, 'big') + b'\\x01\\xff\\xfe{]')",
  chunkWithoutId: "os.write(3, (3).to_bytes(4, 'big') + b'\\x02ab')",
};

function wireApp(code: string): string {
  return ["import os, sys, time", "from hypha_rpc.sync import connect_to_server", code, "time.sleep(30)"].join("\n");
}

interface Case {
  name: string;
  run: () => Promise<unknown>;
  error: RegExp;
  /** The session id a start case created (stopped after the checks). */
  sessionId?: string;
}

const cases: Case[] = [];
function startCase(name: string, error: RegExp, make: () => Record<string, unknown>): void {
  const entry: Case = { name, error, run: async () => undefined };
  entry.run = () => {
    const config = make();
    if (typeof config.id === "string") entry.sessionId = config.id;
    return rig.call("start", [config]);
  };
  cases.push(entry);
}
function manifestCase(name: string, manifest: Record<string, unknown>, error: RegExp, overrides: Record<string, unknown> = {}): void {
  startCase(`manifest: ${name}`, error, () => rig.startConfig(goodApp, manifest, overrides));
}
function configCase(name: string, error: RegExp, change: (config: Record<string, unknown>) => unknown): void {
  const entry: Case = { name: `start config: ${name}`, error, run: async () => undefined };
  entry.run = () => {
    const changed = change(rig.startConfig(goodApp, {}));
    const id = changed && typeof changed === "object" ? (changed as Record<string, unknown>).id : undefined;
    if (typeof id === "string") entry.sessionId = id;
    return rig.call("start", [changed]);
  };
  cases.push(entry);
}
function filesCase(kind: string, error: RegExp, manifest: Record<string, unknown> = { files_to_stage: ["data/"] }): void {
  startCase(`app files: ${kind}`, error, () => rig.startConfig(goodApp, manifest, { app_files_base_url: `${rig.server.url}/evil/${kind}/files` }));
}
function rpcCase(name: string, error: RegExp, run: () => Promise<unknown>): void {
  cases.push({ name: `rpc: ${name}`, error, run });
}

// --- manifests (23) ---
manifestCase("a flag smuggled as a dependency", { dependencies: ["--override-channels"] }, /--override-channels|flag|'-'/i);
manifestCase("a short flag as a dependency", { dependencies: ["python", "-c"] }, /-c|flag|'-'/i);
manifestCase("shell metacharacters", { dependencies: ["python; rm -rf /"] }, /python; rm|character|not a (valid )?(conda )?spec/i);
manifestCase("command substitution", { dependencies: ["$(touch /tmp/pwned)"] }, /\$|character|spec/i);
manifestCase("a newline inside a spec", { dependencies: ["python\n- evil"] }, /control|newline|character/i);
manifestCase("a NUL inside a spec", { dependencies: ["python\u0000"] }, /control|NUL|character/i);
manifestCase("a non-string dependency", { dependencies: [42] }, /42|string/i);
manifestCase("an empty dependency", { dependencies: ["python", ""] }, /empty/i);
manifestCase("dependencies as an object", { dependencies: { python: "3.11" } }, /dependencies/i);
manifestCase("two pip sections", { dependencies: ["python", { pip: ["a"] }, { pip: ["b"] }] }, /pip/i);
manifestCase("a pip --index-url option", { dependencies: ["python", { pip: ["--index-url=http://evil.example/simple", "x"] }] }, /--index-url|option/i);
manifestCase("a pip -e option", { dependencies: ["python", { pip: ["-e", "."] }] }, /-e|option/i);
manifestCase("a pip URL requirement", { dependencies: ["python", { pip: ["evil @ https://evil.example/evil.whl"] }] }, /url|option|https/i);
manifestCase("a flag as a channel", { channels: ["--offline"] }, /channel/i);
manifestCase("a control character in a channel", { channels: ["conda-forge\r\nx"] }, /channel|control|character/i);
manifestCase("a non-string channel", { channels: [{ url: "x" }] }, /channel/i);
manifestCase("an unsupported type", { type: "javascript" }, /type 'javascript'|not supported/i);
manifestCase("an entry point that climbs out", { entry_point: "../../../etc/passwd" }, /entry|\.\.|outside|relative/i, { entry_point: "../../../etc/passwd" });
manifestCase("an absolute entry point", { entry_point: "/etc/passwd" }, /entry|absolute|relative/i, { entry_point: "/etc/passwd" });
manifestCase("files_to_stage with a NUL", { files_to_stage: ["a\u0000b"] }, /files_to_stage|control|NUL/i);
manifestCase("files_to_stage not a list", { files_to_stage: { a: 1 } }, /files_to_stage/i);
manifestCase("a 1 MB dependency string", { dependencies: ["python", "a".repeat(1024 * 1024)] }, /long|length|too|characters|spec/i);
manifestCase("10,000 dependencies", { dependencies: Array.from({ length: 10_000 }, (_, i) => `pkg${i}`) }, /too many|dependencies|nothing provides|not found|could not/i);

// --- start configs (17) ---
configCase("a string instead of an object", /config must be an object/, () => "start me");
configCase("an array instead of an object", /config must be an object/, (c) => [c]);
configCase("no id", /'id' is required/, ({ id: _id, ...rest }) => rest);
configCase("an id outside its workspace", /'id' must be '<workspace>\/<client_id>'/, (c) => ({ ...c, id: "ws-user-mallory/x" }));
configCase("another workspace than the caller's", /Permission denied/i, (c) => ({ ...c, workspace: "ws-user-mallory", id: "ws-user-mallory/x" }));
configCase("a file:// server_url", /server_url/, (c) => ({ ...c, server_url: "file:///etc/passwd" }));
configCase("a javascript: server_url", /server_url/, (c) => ({ ...c, server_url: "javascript:alert(1)" }));
configCase("a file:// app_files_base_url", /app_files_base_url/, (c) => ({ ...c, app_files_base_url: "file:///etc" }));
configCase("a negative timeout", /timeout/, (c) => ({ ...c, timeout: -1 }));
configCase("a string timeout", /timeout/, (c) => ({ ...c, timeout: "30" }));
configCase("an infinite timeout", /timeout/, (c) => ({ ...c, timeout: Number.POSITIVE_INFINITY }));
configCase("a numeric token", /token/, (c) => ({ ...c, token: 12345 }));
configCase("a NUL in the client id", /client_id|NUL/, (c) => ({ ...c, client_id: "a\u0000b" }));
configCase("a 1 MB id", /'id' is longer than 200 characters/, (c) => ({ ...c, id: `${ALICE.workspace}/${"x".repeat(1024 * 1024)}`, client_id: "x" }));
configCase("a progress_callback that is not a function", /progress_callback/, (c) => ({ ...c, progress_callback: "call me" }));
configCase("disable_ssl as a string", /disable_ssl/, (c) => ({ ...c, disable_ssl: "yes" }));
configCase("no manifest", /'manifest' is required/, ({ manifest: _m, ...rest }) => rest);

// --- a malicious app-files server (13) ---
filesCase("listing-dotdot", /\.\.\/escape\.txt|one path segment|climbs/);
filesCase("listing-absolute", /\/etc\/passwd|one path segment|absolute/);
filesCase("listing-slash", /a\/b\.txt|one path segment/);
filesCase("listing-nul", /control|NUL/);
filesCase("listing-dot", /one path segment|"\.\."/);
filesCase("listing-not-array", /not a JSON array/);
filesCase("listing-bad-type", /unknown type/);
filesCase("listing-not-json", /not JSON/);
filesCase("listing-huge-size", /larger than the limit/);
filesCase("http-500", /HTTP 500/, {});
filesCase("no-entry", /main\.py|entry point/i, {});
filesCase("huge-entry", /larger than the limit/, {});
filesCase("lock-garbage", /hypha-conda\.lock\.json is not a valid lock/, {});

// --- RPC arguments (15) ---
const someId = () => `${ALICE.workspace}/_rapp_missing`;
rpcCase("stop with a number", /session_id/, () => rig.call("stop", [12345]));
rpcCase("stop with an empty id", /session_id/, () => rig.call("stop", [""]));
rpcCase("get_logs with an unknown type", /type must be one of/, () => rig.call("get_logs", [someId()], { type: "../../etc" }));
rpcCase("get_logs with a negative offset", /offset/, () => rig.call("get_logs", [someId()], { offset: -1 }));
rpcCase("get_logs with a string offset", /offset/, () => rig.call("get_logs", [someId()], { offset: "3" }));
rpcCase("get_logs with a fractional limit", /limit/, () => rig.call("get_logs", [someId()], { limit: 1.5 }));
rpcCase("execute with a non-string script", /script/, () => rig.call("execute", [someId()], { script: 123 }));
rpcCase("execute with a negative timeout", /timeout/, () => rig.call("execute", [someId()], { script: "1", config: { timeout: -5 } }));
rpcCase("list_sessions with null", /workspace/, () => rig.call("list_sessions", [], { workspace: null }));
rpcCase("prepare_workspace climbing out", /Permission denied/i, () => rig.call("prepare_workspace", [], { workspace: "../../../etc" }));
rpcCase("close_workspace with an object", /workspace/, () => rig.call("close_workspace", [], { workspace: { $ne: 1 } }));
rpcCase("get_session_info with a 1 MB id", /Permission denied|not found/i, () => rig.call("get_session_info", [`x/${"y".repeat(1024 * 1024)}`]));
rpcCase("compile with a null manifest", /manifest/, () => rig.call("compile", [null, "files"]));
rpcCase("start with an unknown keyword", /unknown|keyword|evil/i, () => rig.call("start", [rig.startConfig(goodApp, {})], { evil: true }));
rpcCase("get_logs with too many arguments", /too many|argument/i, () => rig.call("get_logs", [someId(), "stdout", 0, 1, "extra", "more"]));

// --- the bridge wire (9): the app writes to fd 3 behind the runner's back; start waits for `default` ---
for (const [name, code] of Object.entries(WIRE)) {
  startCase(`bridge wire: ${name}`, /bridge|frame|channel/i, () =>
    rig.startConfig(`wire-${name}`, { startup_config: { wait_for_service: "default" } }, { app_files_base_url: `${rig.server.url}/${ALICE.workspace}/artifacts/wire-${name}/files`, timeout: 15 }),
  );
}

beforeAll(async () => {
  rig = await Rig.start({ stopGraceMs: 500 });
  rig.server.addHttpRoute(evilFiles);
  goodApp = await rig.install("good", "print('good app ran', flush=True)\n");
  for (const [name, code] of Object.entries(WIRE)) await rig.install(`wire-${name}`, wireApp(code));
  const id = (await rig.call("start", [rig.startConfig(goodApp, {})])) as string;
  await rig.call("stop", [id]);
  envsBefore = rig.leftovers().envs;
}, 60_000);
afterAll(async () => {
  // RELIABILITY_REPORT=1 prints every case with the error the caller got (for docs/reliability.md).
  if (process.env.RELIABILITY_REPORT) for (const [name, message] of seen) console.info(`${name} => ${message}`);
  await rig?.close();
});

describe(`${cases.length} hostile inputs`, () => {
  it("are at least 40", () => {
    expect(cases.length).toBeGreaterThanOrEqual(40);
  });

  it.each(cases.map((c) => [c.name, c] as const))("%s: a clear error, nothing left, the worker keeps serving", async (_name, c) => {
    const error = await c.run().then(
      () => undefined,
      (e: Error) => e,
    );
    expect(error, "the hostile call succeeded").toBeInstanceOf(Error);
    const message = error!.message.split("\n")[0]!;
    seen.push([c.name, message.slice(0, 300)]);
    expect(message).toMatch(c.error);
    expect(message).toMatch(TYPED);
    expect(message).not.toContain(rig.workerToken);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    if (c.sessionId) await rig.call("stop", [c.sessionId]).catch(() => undefined);
    const left = rig.leftovers();
    expect(left.envs, "env dirs").toEqual(envsBefore);
    expect(left.locks, "locks").toEqual([]);
    expect(left.leases, "leases").toEqual([]);
    expect(left.workDirs, "working dirs").toEqual([]);
    expect(rig.worker.sessionIds(), "sessions").toEqual([]);
    // A good start right after works.
    const id = (await rig.call("start", [rig.startConfig(goodApp, {})])) as string;
    expect(((await rig.call("get_session_info", [id])) as { status: string }).status).toMatch(/running|completed/);
    await rig.call("stop", [id]);
  }, 30_000);
});

describe("prototype-pollution keys", () => {
  const polluted = () => ({} as Record<string, unknown>).polluted !== undefined || Object.prototype.hasOwnProperty.call(Object.prototype, "polluted");

  it("__proto__ keys in a manifest, a start config and the kwargs (through hypha-rpc) pollute nothing and keep the worker serving", async () => {
    const poison = () => JSON.parse('{"__proto__": {"polluted": "yes"}}') as Record<string, unknown>;
    for (const [label, config, kwargs] of [
      ["kwargs", rig.startConfig(goodApp, {}), poison()],
      ["config", rig.startConfig(goodApp, {}, poison()), {}],
      ["manifest", rig.startConfig(goodApp, poison()), {}],
    ] as Array<[string, Record<string, unknown>, Record<string, unknown>]>) {
      // hypha-rpc's msgpack refuses to decode a `__proto__` key: the worker drops that frame (it cannot
      // tell whom to answer), so the caller's call runs into its own method timeout. Bounded here.
      const outcome = await Promise.race([
        rig.call("start", [config], kwargs).then(
          (id) => `started ${String(id)}`,
          (e: Error) => `refused: ${e.message}`,
        ),
        new Promise<string>((resolve) => setTimeout(() => resolve("dropped"), 2_000)),
      ]);
      expect(polluted(), label).toBe(false);
      expect(outcome, label).toMatch(/^dropped$|^refused: .*(\[E_[A-Z_]+\]|UsageError)|^started /);
      await rig.call("stop", [config.id]).catch(() => undefined);
      // The worker's connection still serves: a good start right after works.
      const id = (await rig.call("start", [rig.startConfig(goodApp, {})])) as string;
      await rig.call("stop", [id]);
    }
    expect(rig.leftovers().workDirs).toEqual([]);
    expect(rig.worker.sessionIds()).toEqual([]);
  }, 30_000);

  it("__proto__ and constructor keys in a raw msgpack frame (no hypha-rpc on the sending side) pollute nothing", async () => {
    const workerTarget = rig.registered.id.split(":")[0]!;
    const clientId = "raw-evil";
    const raw = await openRawClient(rig.server.wsUrl, { client_id: clientId, workspace: ALICE.workspace, token: rig.server.issueToken({ workspace: ALICE.workspace, userId: ALICE.user }) });
    const config = rig.startConfig(goodApp, {});
    const evil = JSON.parse(
      `{"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}, "manifest": {"__proto__": {"polluted": "yes"}, "type": "conda-python", "dependencies": ["python"], "channels": ["conda-forge"], "startup_config": {"wait_for_service": false}}}`,
    ) as Record<string, unknown>;
    const args = [{ ...config, ...evil }];
    for (const method of ["start", "get_logs", "list_sessions"]) {
      raw.socket.send(Buffer.concat([encode({ type: "method", from: `${ALICE.workspace}/${clientId}`, to: workerTarget, method: `services.conda-worker.${method}` }), encode({ args })]));
    }
    await new Promise((r) => setTimeout(r, 1_000));
    await raw.close();
    expect(polluted()).toBe(false);
    await rig.call("stop", [config.id]).catch(() => undefined);
    const id = (await rig.call("start", [rig.startConfig(goodApp, {})])) as string;
    await rig.call("stop", [id]);
    const left = rig.leftovers();
    expect(left.workDirs).toEqual([]);
    expect(left.leases).toEqual([]);
    expect(rig.worker.sessionIds()).toEqual([]);
  }, 30_000);
});

describe("every worker method across workspaces, on a real running session", () => {
  let mallory: HyphaServer;
  let victim: string;
  beforeAll(async () => {
    const app = await rig.install("victim", "import time\nprint('victim up', flush=True)\ntime.sleep(60)\n");
    victim = (await rig.call("start", [rig.startConfig(app, {})])) as string;
    mallory = await connectToHypha({ server_url: rig.server.url, client_id: "mallory-cli", token: rig.server.issueToken({ workspace: "ws-user-mallory", userId: "mallory" }) });
  }, 30_000);
  afterAll(async () => {
    await rig.call("stop", [victim]).catch(() => undefined);
    await mallory?.disconnect();
  });

  const missing = `${ALICE.workspace}/_rapp_never_existed`;
  const methods: Array<[string, (svc: Record<string, unknown>, id: string) => Promise<unknown>]> = [
    ["start", (s, id) => (s.start as Fn)({ ...rig.startConfig("victim", {}), id: `${ALICE.workspace}/${id.split("/")[1]}-2` })],
    ["stop", (s, id) => (s.stop as Fn)(id)],
    ["get_session_info", (s, id) => (s.get_session_info as Fn)(id)],
    ["get_logs", (s, id) => (s.get_logs as Fn)(id, "stdout")],
    ["execute", (s, id) => (s.execute as Fn)(id, "import os; os.system('id')")],
    ["list_sessions", (s) => (s.list_sessions as Fn)(ALICE.workspace)],
    ["prepare_workspace", (s) => (s.prepare_workspace as Fn)(ALICE.workspace)],
    ["close_workspace", (s) => (s.close_workspace as Fn)(ALICE.workspace)],
    ["shutdown", (s) => (s.shutdown as Fn)()],
  ];

  it.each(methods)("%s from another workspace is refused, identically for an existing and a missing session", async (_name, attempt) => {
    const svc = (await mallory.getService(rig.registered.id)) as Record<string, unknown>;
    const onExisting = await attempt(svc, victim).then(() => "ALLOWED", (e: Error) => e.message.split("\n")[0]!);
    const onMissing = await attempt(svc, missing).then(() => "ALLOWED", (e: Error) => e.message.split("\n")[0]!);
    expect(onExisting).toMatch(/Permission denied/);
    expect(onExisting.replaceAll(victim, "<id>")).toBe(onMissing.replaceAll(missing, "<id>"));
    const info = (await rig.call("get_session_info", [victim])) as { status: string };
    expect(info.status).toBe("running");
  });

  it("the server relaying for mallory (context keyword from the root client) is refused too", async () => {
    const mctx = { ws: "ws-user-mallory", user: { id: "mallory" } };
    for (const [method, positional] of [["stop", [victim]], ["get_logs", [victim]], ["execute", [victim, "1"]], ["get_session_info", [victim]]] as const) {
      await expect(rig.manager.callWithKwargs(rig.registered.id, method, [...positional], { context: mctx })).rejects.toThrow(/Permission denied/);
    }
    expect(((await rig.call("get_session_info", [victim])) as { status: string }).status).toBe("running");
  });
});
