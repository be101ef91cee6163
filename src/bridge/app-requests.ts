/** The app's requests to the worker (connect, register_service, get_service, events, calls into worker-side functions). */
import { BridgeError } from "../errors.js";
import type { AppServices, ConnectRequest } from "./app-services.js";
import type { AppEvents } from "./manager-api.js";
import type { PythonFunctions } from "./python-functions.js";
import type { AppSocket } from "./socket/app-socket.js";
import type { AppIdentity, BridgeHostOptions } from "./types.js";
import type { WireMessage } from "./wire.js";

export interface RequestDeps {
  identity: AppIdentity;
  services: AppServices;
  fns: PythonFunctions;
  events: AppEvents;
  appSocket: AppSocket | undefined;
  log: BridgeHostOptions["log"];
  /** The app called connect_to_server through the bridge. */
  onConnected(): void;
}

/** Returns the handler that answers one request of the app (its value goes back as the reply). */
export function createRequestHandler(deps: RequestDeps): (message: WireMessage, blobs: Uint8Array[]) => Promise<unknown> {
  const { identity, services, fns, events, appSocket, log } = deps;
  const { codec, table } = fns;
  return async (message, blobs) => {
    const payload = message.v === undefined ? undefined : codec.decode(message.v, blobs);
    switch (message.t) {
      case "connect": {
        const info = await services.connect((payload ?? {}) as ConnectRequest);
        deps.onConnected();
        log("info", `app connected through the bridge as ${identity.workspace}/${identity.clientId}`);
        return info;
      }
      case "register": {
        const service = payload as Record<string, unknown>;
        if (!service || typeof service !== "object") throw new BridgeError("E_BRIDGE", "register_service: the service must be a dict");
        const info = await services.register(fns.withContext(service));
        const connection = services.connection();
        if (appSocket && connection) appSocket.publish(await connection, String(service.id));
        log("info", `app registered service ${String(info.id)}`);
        return info;
      }
      case "unregister":
        await services.unregister(String(message.sid));
        appSocket?.withdraw(String(message.sid).split(/[:/]/).pop()!);
        return null;
      case "get_service":
        return services.getService(String(message.sid), (payload ?? {}) as Record<string, unknown>);
      case "list_services":
        return services.listServices(payload);
      case "disconnect":
        events.clear();
        await services.disconnect();
        return null;
      case "listen":
      case "unlisten":
      case "emit":
        return events.handle(message.t, services.connection(), message.event, payload);
      case "call": {
        const fn = table.get(String(message.fn));
        if (!fn) throw new BridgeError("E_BRIDGE", `function ${String(message.fn)} is no longer available (its service or call ended)`);
        const args = (codec.decode(message.args ?? [], blobs) as unknown[]) ?? [];
        const kwargs = message.kw === undefined ? undefined : (codec.decode(message.kw, blobs) as Record<string, unknown>);
        if (kwargs && Object.keys(kwargs).length > 0) args.push({ ...kwargs, _rkwargs: true });
        return await fn(...args);
      }
      default:
        throw new BridgeError("E_BRIDGE", `unknown bridge request ${JSON.stringify(message.t)} from the app`);
    }
    };
}
