/**
 * Knob: refuse connections the way Hypha 0.21.135 refused clients of a new user racing to create its
 * workspace. Its websocket handler catches the `RuntimeError("Workspace already exists: <ws>")` raised by
 * `load_or_create_workspace`, sends the text frame `{"type": "error", "message": "Failed to establish
 * connection: Workspace already exists: <ws>"}` and closes with 1001 (GOING_AWAY) and the same reason
 * (hypha/websocket.py `disconnect`); hypha-rpc rejects `connectToServer` with `ConnectionAbortedError: <message>`.
 */

export interface WorkspaceRaceRefusal {
  /** Frame text to send before closing. */
  message: string;
  /** Close code: 1001, as upstream's catch-all for setup failures. */
  code: number;
  /** Close reason (upstream passes the message; a close reason is at most 123 bytes). */
  reason: string;
}

interface Rule {
  workspace: string | undefined;
  remaining: number;
}

export class ConnectionFaults {
  private readonly rules: Rule[] = [];
  /** `ws/client` of every connection refused by a rule, in order. */
  readonly refused: string[] = [];

  /**
   * The next `count` authenticated connections into `workspace` (any workspace when omitted) are refused
   * with upstream's "Workspace already exists" answer, as when several clients of a new user connect at once.
   */
  refuseWorkspaceRace(count: number, workspace?: string): void {
    if (!Number.isInteger(count) || count < 1) throw new Error(`refuseWorkspaceRace: count must be a positive integer, got ${count}`);
    this.rules.push({ workspace, remaining: count });
  }

  /** Consumes one refusal for a connection of `workspace`/`clientId` when a rule applies. */
  take(workspace: string, clientId: string): WorkspaceRaceRefusal | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && (r.workspace === undefined || r.workspace === workspace));
    if (!rule) return undefined;
    rule.remaining -= 1;
    this.refused.push(`${workspace}/${clientId}`);
    const message = `Failed to establish connection: Workspace already exists: ${workspace}`;
    return { message, code: 1001, reason: truncateUtf8(message, 123) };
  }
}

function truncateUtf8(text: string, maxBytes: number): string {
  let out = text;
  while (Buffer.byteLength(out, "utf8") > maxBytes) out = out.slice(0, -1);
  return out;
}
