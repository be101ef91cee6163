/**
 * Human logs: one line per event on stderr, redacted. `--json` command output goes to stdout and never
 * through this logger.
 */
import { redact } from "./redact.js";

export type LogLevel = "debug" | "info" | "warn" | "error";
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
  child(prefix: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Where lines go; defaults to process.stderr. */
  write?: (line: string) => void;
  prefix?: string;
}

/** Creates a logger that writes redacted, timestamped lines to stderr. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const threshold = ORDER[options.level ?? "info"];
  const write = options.write ?? ((line: string) => process.stderr.write(line));
  const prefix = options.prefix ? `[${options.prefix}] ` : "";
  const emit = (level: LogLevel, message: string) => {
    if (ORDER[level] < threshold) return;
    write(`${new Date().toISOString()} ${level.toUpperCase().padEnd(5)} ${prefix}${redact(message)}\n`);
  };
  return {
    debug: (m) => emit("debug", m),
    info: (m) => emit("info", m),
    warn: (m) => emit("warn", m),
    error: (m) => emit("error", m),
    child: (p) => createLogger({ ...options, prefix: options.prefix ? `${options.prefix}:${p}` : p }),
  };
}

/** A logger that drops everything (library default). */
export const silentLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return silentLogger;
  },
};
