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

export interface WorkspaceRaceOptions {
  /** How many connections are refused. */
  count: number;
  /** Only connections into this workspace (default any). */
  workspace?: string;
  /** Connections let through before the refusals start: the racer that created the workspace (default 0). */
  after?: number;
}

interface Rule {
  workspace: string | undefined;
  pass: number;
  remaining: number;
}

export class ConnectionFaults {
  private readonly rules: Rule[] = [];
  /** `ws/client` of every connection refused by a rule, in order. */
  readonly refused: string[] = [];

  /**
   * After `after` connections into `workspace` went through, the next `count` are refused with
   * upstream's "Workspace already exists" answer, as when several clients of a new user connect at once.
   */
  refuseWorkspaceRace(options: WorkspaceRaceOptions): void {
    const { count, workspace, after = 0 } = options;
    if (!Number.isInteger(count) || count < 1) throw new Error(`refuseWorkspaceRace: count must be a positive integer, got ${count}`);
    if (!Number.isInteger(after) || after < 0) throw new Error(`refuseWorkspaceRace: after must be a whole number, got ${after}`);
    this.rules.push({ workspace, pass: after, remaining: count });
  }

  /** Consumes one refusal for a connection of `workspace`/`clientId` when a rule applies. */
  take(workspace: string, clientId: string): WorkspaceRaceRefusal | undefined {
    const rule = this.rules.find((r) => r.remaining > 0 && (r.workspace === undefined || r.workspace === workspace));
    if (!rule) return undefined;
    if (rule.pass > 0) {
      rule.pass -= 1;
      return undefined;
    }
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
