/**
 * Forwards progress events to Hypha's `progress_callback` (a remote function that may fail or be slow)
 * without ever delaying or breaking `start`: events queue in order and are delivered one at a time in the
 * background, each call bounded by a timeout; a callback that keeps failing is given up on.
 */
import type { ProgressEvent, ProgressSink } from "../progress.js";
import { redact } from "../redact.js";
import type { Logger } from "../logger.js";
import { describeError } from "../errors.js";
import type { ProgressCallback } from "./start-config.js";

export interface ProgressForwarder {
  sink: ProgressSink;
  /** Resolves once the queue is delivered (or abandoned); waits at most `timeoutMs`. */
  flush(timeoutMs?: number): Promise<void>;
}

const MAX_QUEUE = 200;
const MAX_CONSECUTIVE_FAILURES = 3;

/** What the callback receives: the upstream shape `{type, message}` plus our phase and facts. */
export function toCallbackPayload(event: ProgressEvent): Record<string, unknown> {
  return { type: event.type, message: redact(event.message), phase: event.phase, elapsed: event.elapsed, ...(event.data ? { data: event.data } : {}) };
}

function withTimeout(promise: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`progress_callback did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

export function createProgressForwarder(callback: ProgressCallback | undefined, callTimeoutMs: number, logger?: Logger): ProgressForwarder {
  const queue: Record<string, unknown>[] = [];
  let dropped = 0;
  let failures = 0;
  let disabled = callback === undefined;
  let draining: Promise<void> | undefined;

  const drain = async (): Promise<void> => {
    while (queue.length > 0 && !disabled) {
      const payload = queue.shift()!;
      try {
        await withTimeout(Promise.resolve().then(() => callback!(payload)), callTimeoutMs);
        failures = 0;
      } catch (error) {
        failures += 1;
        logger?.debug(`progress_callback failed: ${describeError(error)}`);
        if (failures >= MAX_CONSECUTIVE_FAILURES) {
          disabled = true;
          logger?.warn("progress_callback failed repeatedly; further progress is only written to the session log");
        }
      }
    }
    queue.length = 0;
    draining = undefined;
  };

  const sink: ProgressSink = (event) => {
    if (disabled) return;
    if (queue.length >= MAX_QUEUE) {
      // Keep memory flat if the consumer is slow: drop the oldest, say so in the next message.
      queue.shift();
      dropped += 1;
    }
    const payload = toCallbackPayload(event);
    if (dropped > 0) {
      payload.message = `${payload.message as string} (${dropped} earlier progress messages skipped)`;
      dropped = 0;
    }
    queue.push(payload);
    draining ??= drain();
  };

  return {
    sink,
    async flush(timeoutMs = callTimeoutMs) {
      if (!draining) return;
      await withTimeout(draining, timeoutMs).catch(() => undefined);
    },
  };
}
