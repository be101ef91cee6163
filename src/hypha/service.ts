/**
 * The worker as a Hypha service: type `server-app-worker`, top-level `supported_types`/`name`/
 * `description`, every worker method wrapped by the calling-convention adapter, and the real caller
 * resolved (authorize.ts) before the CondaWorker sees the call.
 */
import { ConfigError, WorkerError, describeError } from "../errors.js";
import { silentLogger, type Logger } from "../logger.js";
import { redact } from "../redact.js";
import { resolveCaller, type Caller } from "../worker/authorize.js";
import type { CondaWorker } from "../worker/conda-worker.js";
import { createServicePresence } from "./service-presence.js";
import { installKwargsAdapter, wrapMethod, type CallContext, type MethodSignature, type NormalisedCall } from "./calling-convention.js";
import type { HyphaServer } from "./connect.js";

export type Visibility = "public" | "protected";

export interface WorkerServiceOptions {
  /** Service id (letters, digits, '-', '_'); Hypha shows it as `workspace/client:id`. */
  serviceId: string;
  visibility: Visibility;
  name?: string;
  description?: string;
  /** Ask the server to hand apps its local_base_url (worker next to the server, e.g. same cluster). */
  useLocalUrl?: boolean | string;
  /** Extra workspaces allowed to call a protected worker directly (the server's `public` always is). */
  authorizedWorkspaces?: string[];
  logger?: Logger;
}

const SERVICE_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** Checks a service id: hypha-rpc addresses methods as `services.<id>.<method>`, so no dots or slashes. */
export function validateServiceId(id: string, flag = "--service-id (HYPHA_SERVICE_ID)"): string {
  if (!SERVICE_ID.test(id)) {
    throw new ConfigError(`${flag}: '${id}' is not a valid service id; use 1-64 letters, digits, '-' or '_' (e.g. conda-worker).`);
  }
  return id;
}

export const WORKER_METHODS: readonly MethodSignature[] = [
  { name: "start", params: ["config"] },
  { name: "stop", params: ["session_id"] },
  { name: "list_sessions", params: ["workspace"] },
  { name: "get_session_info", params: ["session_id"] },
  { name: "get_logs", params: ["session_id", "type", "offset", "limit"] },
  { name: "prepare_workspace", params: ["workspace"] },
  { name: "close_workspace", params: ["workspace"] },
  { name: "compile", params: ["manifest", "files", "config"] },
  // progress_callback/output_callback: accepted as upstream's conda worker does (keyword or positional).
  { name: "execute", params: ["session_id", "script", "config", "progress_callback", "output_callback"] },
  { name: "shutdown", params: [] },
  { name: "get_load", params: [] },
];

/** The context handed to CondaWorker: undefined for trusted callers, else the real caller's identity. */
export function contextForWorker(caller: Caller): CallContext | undefined {
  if (caller.trusted) return undefined;
  return {
    ...(caller.workspace ? { ws: caller.workspace } : {}),
    ...(caller.userId ? { user: { id: caller.userId } } : {}),
    ...(caller.from ? { from: caller.from } : {}),
  };
}

function dispatch(worker: CondaWorker, name: string, call: NormalisedCall, context: CallContext | undefined): Promise<unknown> | unknown {
  const p = call.params;
  switch (name) {
    case "start":
      return worker.start(p.config, context);
    case "stop":
      return worker.stop(p.session_id, context);
    case "list_sessions":
      return worker.list_sessions(p.workspace, context);
    case "get_session_info":
      return worker.get_session_info(p.session_id, context);
    case "get_logs":
      return worker.get_logs(p.session_id, p.type, p.offset, p.limit, context);
    case "prepare_workspace":
      return worker.prepare_workspace(p.workspace, context);
    case "close_workspace":
      return worker.close_workspace(p.workspace, context);
    case "compile":
      return worker.compile(p.manifest, p.files, p.config, context);
    case "execute":
      return worker.execute(p.session_id, p.script, p.config, context, { progress_callback: p.progress_callback, output_callback: p.output_callback });
    case "shutdown":
      return worker.shutdown(context);
    case "get_load":
      return worker.get_load();
    default:
      throw new ConfigError(`unknown worker method '${name}'`);
  }
}

/** Builds the service object to pass to `registerService`. */
export function createWorkerService(worker: CondaWorker, options: WorkerServiceOptions): Record<string, unknown> {
  validateServiceId(options.serviceId);
  const logger = options.logger ?? silentLogger;
  const service: Record<string, unknown> = {
    id: options.serviceId,
    name: options.name ?? worker.name,
    description: options.description ?? worker.description,
    type: "server-app-worker",
    supported_types: [...worker.supported_types],
    use_local_url: options.useLocalUrl ?? false,
    config: {
      visibility: options.visibility,
      require_context: true,
      run_in_executor: true,
      // A protected service refuses other workspaces, including the server's internal client in `public`.
      ...(options.visibility === "protected" ? { authorized_workspaces: [...new Set(["public", ...(options.authorizedWorkspaces ?? [])])] } : {}),
    },
  };
  for (const signature of WORKER_METHODS) {
    service[signature.name] = wrapMethod(signature, async (call) => {
      const caller = resolveCaller(call.rpcContext, call.callerContext);
      try {
        return await dispatch(worker, signature.name, call, contextForWorker(caller));
      } catch (error) {
        const who = caller.trusted ? "server" : (caller.workspace ?? "?");
        logger.warn(`${signature.name} from ${who} failed: ${describeError(error)}`);
        // The message travels to the remote caller: redact it, keep the code visible.
        const code = error instanceof WorkerError ? ` [${error.code}]` : "";
        const remote = new Error(`${redact(describeError(error))}${code}`);
        // hypha-rpc sends `stack` as the remote trace: the caller needs the message, not the worker's source paths.
        remote.stack = remote.toString();
        throw remote;
      }
    });
  }
  return service;
}

export interface RegisteredWorkerService {
  /** Full id as Hypha reports it, e.g. `ws/client:conda-worker`. */
  id: string;
  unregister(): Promise<void>;
}

/**
 * Installs the kwargs adapter on the connection and registers the worker service. The worker then looks
 * for its apps' services through this connection (see service-presence.ts).
 */
export async function registerWorkerService(server: HyphaServer, worker: CondaWorker, options: WorkerServiceOptions): Promise<RegisteredWorkerService> {
  const service = createWorkerService(worker, options);
  const removeAdapter = installKwargsAdapter(server, options.serviceId);
  try {
    const info = await server.registerService(service, { overwrite: true });
    worker.setServicePresence(createServicePresence(server));
    return {
      id: info.id,
      async unregister() {
        try {
          await server.unregisterService(info.id);
        } finally {
          removeAdapter();
        }
      },
    };
  } catch (error) {
    removeAdapter();
    throw error;
  }
}
