/** Library entry: what another Node service imports to embed the worker. */
export * from "./errors.js";
export { createLogger, silentLogger, type Logger, type LogLevel } from "./logger.js";
export { createProgressReporter, type ProgressEvent, type ProgressSink, type ProgressPhase, type ProgressType } from "./progress.js";
export { registerSecret, redact } from "./redact.js";
export { VERSION } from "./version.js";
