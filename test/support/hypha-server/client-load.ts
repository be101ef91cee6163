/**
 * The server's per-client load figure, as hypha 0.21.135 keeps it (core/__init__.py
 * `_update_load_metric`, `get_client_load`): for clients whose id ends in `__rlb` (the app manager gives
 * app instances such ids), RPC messages they send per minute over a window restarted every 60 s; every
 * other client scores 0. The app manager's `min_load` selection and autoscaling read it.
 */

interface Metrics {
  lastTime: number;
  lastRequests: number;
}

const WINDOW_S = 60;

export class ClientLoadMeter {
  private readonly metrics = new Map<string, Metrics>();

  constructor(private readonly now: () => number = () => Date.now() / 1000) {}

  /** One RPC message sent by `workspace/clientId`. */
  record(workspace: string, clientId: string): void {
    if (!clientId.endsWith("__rlb")) return;
    const key = `${workspace}/${clientId}`;
    const current = this.now();
    let metrics = this.metrics.get(key);
    if (!metrics) {
      metrics = { lastTime: current, lastRequests: 0 };
      this.metrics.set(key, metrics);
    }
    metrics.lastRequests += 1;
    if (current - metrics.lastTime >= WINDOW_S) {
      metrics.lastTime = current;
      metrics.lastRequests = 0;
    }
  }

  /** Requests per minute of a load-balanced (`__rlb`) client; 0 for any other. */
  load(workspace: string, clientId: string): number {
    if (!clientId.endsWith("__rlb")) return 0;
    const metrics = this.metrics.get(`${workspace}/${clientId}`);
    if (!metrics) return 0;
    const elapsed = this.now() - metrics.lastTime;
    return elapsed > 0 ? metrics.lastRequests / (elapsed / 60) : 0;
  }
}
