/**
 * hypha-rpc can surface replies that arrive after a disconnect as unhandled promise rejections, which
 * crash Node 20 by default. The guard swallows (and logs) only those; any other unhandled rejection is
 * left to the process's other listeners, or rethrown (Node's default) when the guard is the only one.
 */
import { describeError } from "../errors.js";
import { redact } from "../redact.js";

const LATE_REPLY = /connection is closed|connection was closed|client disconnected|websocket is (not open|closed)|session .*(not found|closed)|method call time ?out|timed? ?out.*method|peer_not_found|parent session was closed|app stopped/i;
let installed = false;
let sink: (line: string) => void = (line) => process.stderr.write(`${line}\n`);

/** True when `reason` looks like a late hypha-rpc reply after a disconnect. */
export function isLateReplyRejection(reason: unknown): boolean {
  return LATE_REPLY.test(describeError(reason));
}

/** Installs the process-wide guard once; `log` receives one redacted line per swallowed rejection. */
export function installLateReplyGuard(log?: (line: string) => void): void {
  if (log) sink = log;
  if (installed) return;
  installed = true;
  process.on("unhandledRejection", (reason) => {
    if (isLateReplyRejection(reason)) {
      sink(redact(`ignored a late hypha-rpc reply after disconnect: ${describeError(reason)}`));
      return;
    }
    // Another listener (e.g. `serve`'s) owns the policy for everything else; alone, keep Node's default.
    if (process.listenerCount("unhandledRejection") > 1) return;
    throw reason;
  });
}
