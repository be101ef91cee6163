/**
 * Finding a `server-app-worker` for a manifest type, and calling it the way the Python server does:
 * keyword arguments on the wire (`args = [...positional, kwargs]`, `with_kwargs = true`), which is what
 * hypha-rpc JS emits for a trailing `{..., _rkwargs: true}` argument and Python's `f(a, k=v)` emits.
 */
import type { HyphaServer } from "../../../src/hypha/connect.js";
import type { HyphaTestServer } from "../hypha-server/server.js";
import { parseServiceId } from "../hypha-server/registry.js";

export type RemoteService = Record<string, unknown> & { id: string };
/**
 * Upstream's selection modes. `select:min|max:<fn>` calls fn() on each worker (2 s each; failures skipped,
 * none answering → random). `min_load` in apps.py reads the server's own per-client message load from
 * Redis and never calls the worker; this stand-in has no such figure and refuses it.
 */
export type SelectionMode = "random" | "first" | "last" | "min_load" | `select:${"min" | "max"}:${string}`;

export interface WorkerInfo {
  id: string;
  workspace: string;
  name?: string;
  /** Read from the worker service itself (service infos do not carry it). */
  supported_types: string[];
  visibility: string;
}

/** Calls `method` with keyword arguments exactly as the Python server does. */
export async function callWithKwargsOn(service: RemoteService, method: string, positional: unknown[], kwargs: Record<string, unknown>): Promise<unknown> {
  const fn = service[method];
  if (typeof fn !== "function") throw new Error(`Service ${service.id} has no method ${method}`);
  return (fn as (...args: unknown[]) => Promise<unknown>)(...positional, { ...kwargs, _rkwargs: true });
}

/** All `server-app-worker` services registered in `workspace`, whatever their visibility (server-side view). */
export function workerRecordsIn(server: HyphaTestServer, workspace: string): string[] {
  return server.router.registry.find({ workspace, clientId: "*", serviceId: "*", type: "server-app-worker" }).map((r) => r.id);
}

/**
 * Picks a worker for `type`: first among the workers of `workspace`, then of `public`, as upstream
 * does. Workers are fetched through `client` (the internal client in `public`), so a protected worker
 * in another workspace refuses; when only refusals are left their error is thrown.
 */
export async function findWorker(server: HyphaTestServer, client: HyphaServer, type: string, workspace: string, mode: SelectionMode): Promise<RemoteService> {
  const refusals: string[] = [];
  for (const ws of workspace === "public" ? ["public"] : [workspace, "public"]) {
    const usable: RemoteService[] = [];
    for (const id of workerRecordsIn(server, ws)) {
      try {
        const svc = (await client.getService(id)) as RemoteService;
        if (Array.isArray(svc.supported_types) && svc.supported_types.includes(type)) usable.push(svc);
      } catch (error) {
        refusals.push(`${id}: ${(error as Error).message}`);
      }
    }
    if (usable.length > 0) return pickWorker(usable, mode);
  }
  const detail = refusals.length > 0 ? `; refused: ${refusals.join("; ")}` : "";
  throw new Error(`No server app worker found for type ${type} in workspace ${workspace} or public${detail}`);
}

/** The workers of `workspace` and `public` that `client` can reach, with their supported types. */
export async function listReachableWorkers(server: HyphaTestServer, client: HyphaServer, workspace: string): Promise<WorkerInfo[]> {
  const out: WorkerInfo[] = [];
  for (const ws of new Set([workspace, "public"])) {
    for (const id of workerRecordsIn(server, ws)) {
      const record = server.router.registry.get(id);
      try {
        const svc = (await client.getService(id)) as RemoteService;
        out.push({
          id,
          workspace: parseServiceId(id).workspace,
          ...(typeof svc.name === "string" ? { name: svc.name } : {}),
          supported_types: Array.isArray(svc.supported_types) ? (svc.supported_types as string[]) : [],
          visibility: String(record?.config.visibility ?? "protected"),
        });
      } catch {
        // unreachable from the internal client (protected): not a worker the server can use
      }
    }
  }
  return out;
}

/** Chooses among usable workers by `mode`. */
export async function pickWorker(items: RemoteService[], mode: SelectionMode): Promise<RemoteService> {
  if (mode === "first") return items[0] as RemoteService;
  if (mode === "last") return items[items.length - 1] as RemoteService;
  const random = () => items[Math.floor(Math.random() * items.length)] as RemoteService;
  if (mode === "random") return random();
  if (mode === "min_load") throw new Error("Selection mode min_load uses the real server's Redis client-load figure, which this stand-in does not have; use select:min:get_load");
  const [, direction, fnName] = mode.split(":") as [string, "min" | "max", string];
  if (!fnName || (direction !== "min" && direction !== "max")) throw new Error(`Invalid selection mode ${mode}; use random, first, last, min_load or select:min|max:<function>`);
  if (items.length === 1) return items[0] as RemoteService;
  let best: { svc: RemoteService; value: number } | undefined;
  for (const svc of items) {
    const fn = svc[fnName];
    if (typeof fn !== "function") continue;
    let timer: NodeJS.Timeout | undefined;
    const value = await Promise.race([
      (fn as () => Promise<unknown>)().then(Number),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error("timeout")), SELECT_CALL_TIMEOUT_MS))),
    ])
      .catch(() => undefined)
      .finally(() => clearTimeout(timer));
    if (value === undefined) continue;
    if (!best || (direction === "min" ? value < best.value : value > best.value)) best = { svc, value };
  }
  return best ? best.svc : random();
}

/** apps.py `_select_worker_by_function` waits this long for each worker's answer. */
const SELECT_CALL_TIMEOUT_MS = 2_000;
