/**
 * A tiny `server-app-worker` written for tests of the app-manager stand-in (and reusable by others):
 * it records every call as it arrived on the wire and as its methods saw it, and on `start` connects
 * the app's client with `config.client_id` + `config.token` and registers `default` like a real app.
 * With `kwargsAware` it rewrites keyword-argument calls before hypha-rpc 0.21.40 drops the positionals.
 */
import { connectToHypha, type HyphaServer } from "../../../src/hypha/connect.js";
import type { HyphaTestServer } from "../hypha-server/server.js";

export interface TinyWorkerOptions {
  /** Workspace the worker registers into (a token for it is issued). */
  workspace: string;
  clientId?: string;
  serviceId?: string;
  visibility?: "public" | "protected";
  authorizedWorkspaces?: string[];
  supportedTypes?: string[];
  /** Fix up kwargs calls so methods see (positional..., kwargs); false = naive hypha-rpc behaviour. */
  kwargsAware?: boolean;
  /** What the app does on start: register `default` (serve) or nothing (hang → startup timeout). */
  app?: "serve" | "never";
  /** Define compile(). */
  withCompile?: boolean;
  /** config.require_context (default true). */
  requireContext?: boolean;
  /** What get_load() answers (selection mode min_load). */
  load?: number;
}

export interface WireCall {
  method: string;
  withKwargs: boolean;
  argCount: number;
  /** Keys of the trailing kwargs dict when withKwargs. */
  kwargKeys: string[];
}

export interface SeenCall {
  method: string;
  /** Positional arguments as the method received them (after any kwargs fix-up). */
  args: unknown[];
  kwargs: Record<string, unknown>;
  /** hypha-rpc's context (require_context), i.e. the direct caller. */
  rpcContext: Record<string, unknown> | undefined;
}

export interface TinyWorker {
  id: string;
  client: HyphaServer;
  wire: WireCall[];
  seen: SeenCall[];
  /** Text of the entry point fetched over HTTP during start, per session. */
  fetchedEntryPoints: Map<string, string>;
  close(): Promise<void>;
}

const KWARGS_KEY = "__tiny_worker_kwargs__";

export async function startTinyWorker(server: HyphaTestServer, options: TinyWorkerOptions): Promise<TinyWorker> {
  const clientId = options.clientId ?? `tiny-worker-${Math.random().toString(16).slice(2, 8)}`;
  const serviceId = options.serviceId ?? "tiny-worker";
  const token = server.issueToken({ workspace: options.workspace, userId: "worker-owner" });
  const client = await connectToHypha({ server_url: server.url, workspace: options.workspace, client_id: clientId, token, method_timeout: 20 });
  const wire: WireCall[] = [];
  const seen: SeenCall[] = [];
  const apps = new Map<string, HyphaServer>();
  const fetchedEntryPoints = new Map<string, string>();

  // Registered after hypha-rpc's own handler, so it runs first and sees the undecoded message.
  client.on?.("method", (data: unknown) => {
    const message = data as { method?: string; args?: unknown[]; with_kwargs?: boolean };
    if (typeof message.method !== "string" || !message.method.startsWith(`services.${serviceId}.`)) return;
    const args = Array.isArray(message.args) ? message.args : [];
    const last = args[args.length - 1];
    wire.push({
      method: message.method.slice(`services.${serviceId}.`.length),
      withKwargs: message.with_kwargs === true,
      argCount: args.length,
      kwargKeys: message.with_kwargs && last && typeof last === "object" ? Object.keys(last) : [],
    });
    if (options.kwargsAware !== false && message.with_kwargs && args.length > 0) {
      message.args = [...args.slice(0, -1), { [KWARGS_KEY]: last }];
      message.with_kwargs = false;
    }
  });

  const record = (method: string, raw: unknown[]): SeenCall => {
    const rpcContext = options.requireContext === false ? undefined : (raw.pop() as Record<string, unknown> | undefined);
    // hypha-rpc pads missing arguments with undefined up to fn.length before appending its context.
    while (raw.length > 0 && raw[raw.length - 1] === undefined) raw.pop();
    const tail = raw[raw.length - 1] as Record<string, unknown> | undefined;
    const kwargs = tail && typeof tail === "object" && KWARGS_KEY in tail ? (raw.pop() as Record<string, Record<string, unknown>>)[KWARGS_KEY] ?? {} : {};
    const call = { method, args: raw, kwargs, rpcContext };
    seen.push(call);
    return call;
  };

  const service: Record<string, unknown> = {
    id: serviceId,
    name: "Tiny test worker",
    description: "Records calls; connects the app's client on start",
    type: "server-app-worker",
    supported_types: options.supportedTypes ?? ["conda-python"],
    config: {
      visibility: options.visibility ?? "public",
      require_context: options.requireContext ?? true,
      ...(options.authorizedWorkspaces ? { authorized_workspaces: options.authorizedWorkspaces } : {}),
    },
    // Named parameters show what hypha-rpc maps kwargs onto; `arguments` holds what really arrived.
    async start(config: Record<string, unknown>, context: unknown) {
      void config, context;
      const call = record("start", Array.from(arguments));
      const cfg = call.args[0] as Record<string, unknown> | undefined;
      if (!cfg) throw new TypeError("Cannot read properties of undefined (reading 'workspace')");
      const progress = cfg.progress_callback as ((m: unknown) => Promise<unknown>) | undefined;
      await progress?.({ type: "info", message: `tiny worker starting ${String(cfg.app_id)}` });
      const files = await fetch(`${String(cfg.app_files_base_url)}/${String(cfg.entry_point)}?use_proxy=true`, {
        headers: { Authorization: `Bearer ${String(cfg.token)}` },
      });
      if (files.ok) fetchedEntryPoints.set(String(cfg.id), await files.text());
      if (options.app !== "never") {
        const app = await connectToHypha({ server_url: String(cfg.server_url), workspace: String(cfg.workspace), client_id: String(cfg.client_id), token: String(cfg.token) });
        await app.registerService({ id: "default", config: { visibility: "public" }, add: (a: number, b: number) => a + b });
        apps.set(String(cfg.id), app);
      }
      await progress?.({ type: "success", message: "tiny worker started" });
      return String(cfg.id);
    },
    async stop(session_id: string, context: unknown) {
      void session_id, context;
      const call = record("stop", Array.from(arguments));
      const id = String(call.args[0]);
      const app = apps.get(id);
      apps.delete(id);
      await app?.disconnect();
    },
    async get_logs(session_id: string, type: string, offset: number, limit: number, context: unknown) {
      void session_id, type, offset, limit, context;
      const call = record("get_logs", Array.from(arguments));
      return { items: [{ type: "stdout", content: "hello" }], total: 1, offset: call.kwargs.offset ?? call.args[2] ?? 0 };
    },
  };
  if (options.load !== undefined) {
    const load = options.load;
    service.get_load = async () => load;
  }
  if (options.withCompile) {
    service.compile = async function compile(manifest: Record<string, unknown>, files: unknown[], config: unknown, context: unknown) {
      void manifest, files, config, context;
      const call = record("compile", Array.from(arguments));
      const [m, f] = call.args as [Record<string, unknown>, unknown[]];
      return [{ ...m, compiled_by: "tiny-worker" }, f];
    };
  }
  const info = await client.registerService(service);
  return {
    id: info.id,
    client,
    wire,
    seen,
    fetchedEntryPoints,
    async close() {
      await Promise.all([...apps.values()].map((app) => app.disconnect().catch(() => undefined)));
      apps.clear();
      await client.disconnect().catch(() => undefined);
    },
  };
}
