/**
 * SIGINT/SIGTERM handling for `run` and `serve`: the first signal starts a clean stop, a second one exits at
 * once. For `run`, a closed stdout (`run ... | head`) counts as SIGPIPE instead of crashing on EPIPE.
 */
import os from "node:os";

export interface SignalWatch {
  /** Resolves with the first SIGINT or SIGTERM (or SIGPIPE when the watched output closed). */
  readonly received: Promise<NodeJS.Signals>;
  dispose(): void;
}

/** Exit code for a run ended by `signal`: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
export function signalExitCode(signal: NodeJS.Signals | string): number {
  const number = (os.constants.signals as Record<string, number | undefined>)[signal];
  return 128 + (number ?? 1);
}

export function watchSignals(onSecond: (signal: NodeJS.Signals) => void, output?: NodeJS.WritableStream): SignalWatch {
  let count = 0;
  let resolve!: (signal: NodeJS.Signals) => void;
  const received = new Promise<NodeJS.Signals>((r) => (resolve = r));
  const handler = (signal: NodeJS.Signals) => {
    count += 1;
    if (count === 1) resolve(signal);
    else onSecond(signal);
  };
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  // Stays attached: later writes to a closed pipe must not crash the process either.
  output?.on("error", () => {
    if (count === 0) handler("SIGPIPE");
  });
  return {
    received,
    dispose() {
      process.off("SIGINT", handler);
      process.off("SIGTERM", handler);
    },
  };
}
