/** Production defaults of the worker: the real Session class and Hypha as the app's service host. */
import type { ServiceMode, AppIdentity } from "../bridge/types.js";
import WebSocket from "ws";
import type { SocketTransport } from "../bridge/socket/app-socket.js";
import type { WebSocketClass } from "../bridge/socket/tunnel-socket.js";
import { connectToHypha } from "../hypha/connect.js";
import { insecureConnectOptions } from "../hypha/insecure-websocket.js";
import type { SessionDeps, StartConfig } from "../session/types.js";
import type { WorkerSession } from "./conda-worker.js";

/** Apps register their services on Hypha as their own client, with the app's token from the start config. */
export function defaultServiceMode(): ServiceMode {
  return {
    kind: "hypha",
    connect: (identity: AppIdentity, transport?: SocketTransport) => {
      const insecure = identity.disableSsl ? insecureConnectOptions() : undefined;
      const fallback = (insecure?.WebSocketClass ?? WebSocket) as WebSocketClass;
      return connectToHypha({
        server_url: identity.serverUrl,
        workspace: identity.workspace,
        client_id: identity.clientId,
        ...(identity.token ? { token: identity.token } : {}),
        ...(insecure ?? {}),
        ...(transport ? { WebSocketClass: transport(fallback, Boolean(identity.disableSsl)) } : {}),
      });
    },
  };
}

/** Creates a real Session; loaded on first use so embedders that inject their own never load it. */
export async function createDefaultSession(deps: SessionDeps, config: StartConfig): Promise<WorkerSession> {
  const { Session } = await import("../session/session.js");
  return new Session(deps, config);
}
