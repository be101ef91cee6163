/**
 * Does the Hypha server have a given service? Asked through the worker's own connection, so `start` sees
 * the service of an app that connected to the server itself (the real hypha_rpc in its env) and never
 * touched the bridge. The answer comes from the workspace manager's `get_service_info`:
 * - it resolves: the service is there;
 * - it refuses with "Permission denied ...": also there. hypha/core/workspace.py (0.21.135) checks the
 *   caller's permission only after it found the service's key (an unregistered one is "Service not
 *   found"), and a worker in another workspace may not read a protected app service's info;
 * - anything else (not found, connection down): not there yet.
 */
import type { HyphaServer } from "./connect.js";

/** Answers whether the server lists a full service id (`ws/client:service`); never throws. */
export type ServicePresence = (fullServiceId: string) => Promise<boolean>;

const PERMISSION_DENIED = /permission denied/i;

/** The presence check over `server` (hypha-rpc names the manager's method in camelCase). */
export function createServicePresence(server: HyphaServer): ServicePresence {
  return async (fullServiceId) => {
    const getInfo = (server.getServiceInfo ?? server.get_service_info) as ((id: string, config?: Record<string, unknown>) => Promise<unknown>) | undefined;
    if (typeof getInfo !== "function") return false;
    try {
      await getInfo(fullServiceId, { mode: "first" });
      return true;
    } catch (error) {
      return PERMISSION_DENIED.test(error instanceof Error ? error.message : String(error));
    }
  };
}
