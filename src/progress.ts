/**
 * One progress event stream for every long operation. The worker forwards events to Hypha's
 * `progress_callback`; the CLI renders them on stderr.
 */
import { redact } from "./redact.js";

export type ProgressType = "info" | "success" | "warning" | "error";

export type ProgressPhase =
  | "validating"
  | "fetching"
  | "resolving"
  | "cache"
  | "waiting"
  | "bootstrapping"
  | "creating"
  | "verifying"
  | "staging"
  | "launching"
  | "running"
  | "stopping"
  | "done"
  | "failed";

export interface ProgressEvent {
  phase: ProgressPhase;
  type: ProgressType;
  message: string;
  /** Seconds since the operation began. */
  elapsed: number;
  /** Optional machine-readable facts: hash, prefix, tool line... */
  data?: Record<string, unknown>;
}

export type ProgressSink = (event: ProgressEvent) => void;

export interface ProgressReporter {
  report(phase: ProgressPhase, type: ProgressType, message: string, data?: Record<string, unknown>): void;
  readonly sink: ProgressSink;
  /** Seconds since the reporter was created. */
  elapsed(): number;
}

/** Creates a reporter that stamps elapsed time and redacts messages; a throwing sink is ignored. */
export function createProgressReporter(sink: ProgressSink | undefined, startedAt = Date.now()): ProgressReporter {
  const safeSink: ProgressSink = (event) => {
    if (!sink) return;
    try {
      sink(event);
    } catch {
      // A broken or slow progress consumer must never break the operation it watches.
    }
  };
  const elapsed = () => Math.round((Date.now() - startedAt) / 10) / 100;
  return {
    sink: safeSink,
    elapsed,
    report(phase, type, message, data) {
      safeSink({ phase, type, message: redact(message), elapsed: elapsed(), ...(data ? { data } : {}) });
    },
  };
}

/** Returns a sink that forwards at most one event per `intervalMs` for noisy phases (tool output lines). */
export function rateLimitSink(sink: ProgressSink, intervalMs: number, noisy: ProgressPhase[] = ["creating"]): ProgressSink {
  let last = 0;
  return (event) => {
    if (noisy.includes(event.phase) && event.type === "info") {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
    }
    sink(event);
  };
}
