/**
 * Sessions whose start failed. The Hypha server never calls stop for them (hypha/apps.py only stops a
 * session whose start returned), so the worker keeps the most recent few for get_logs/get_session_info
 * and stops and forgets older ones itself. Their processes, env lease and working dir are already
 * released when the start fails; what remains is the session record and its bounded log buffer.
 */
export const DEFAULT_RETAINED_FAILED_STARTS = 50;

export class FailedStartRetention {
  private readonly order: string[] = [];

  /** `forget(id)` stops and drops a session that is still held; called for the oldest beyond `limit`. */
  constructor(
    private readonly limit: number,
    private readonly forget: (id: string) => void,
  ) {}

  /** Records a failed start; forgets the oldest failed sessions beyond the limit. */
  add(id: string): void {
    this.remove(id);
    this.order.push(id);
    while (this.order.length > this.limit) this.forget(this.order.shift()!);
  }

  /** The session was stopped by a caller: it no longer counts. */
  remove(id: string): void {
    const index = this.order.indexOf(id);
    if (index >= 0) this.order.splice(index, 1);
  }

  /** Failed sessions currently retained, oldest first. */
  ids(): string[] {
    return [...this.order];
  }
}
