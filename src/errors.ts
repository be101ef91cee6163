/**
 * Typed errors. Every error the product raises carries a stable `code`, an optional `cause`, and a
 * message that says what was wrong and how to fix it. Messages never contain tokens.
 */
export type ErrorCode =
  | "E_USAGE"
  | "E_CONFIG"
  | "E_MANIFEST"
  | "E_SPEC"
  | "E_CHANNEL_NOT_ALLOWED"
  | "E_PACKAGE_MANAGER_NOT_FOUND"
  | "E_PACKAGE_MANAGER"
  | "E_BOOTSTRAP"
  | "E_ENV_CREATE"
  | "E_ENV_TIMEOUT"
  | "E_ENV_VERIFY"
  | "E_LOCK"
  | "E_ENV_LOCK"
  | "E_ENV_LOCK_STALE"
  | "E_CACHE"
  | "E_ENV_IN_USE"
  | "E_ARCHIVE"
  | "E_APP_FILES"
  | "E_PATH_ESCAPE"
  | "E_SESSION_EXISTS"
  | "E_SESSION_NOT_FOUND"
  | "E_SESSION"
  | "E_LAUNCH"
  | "E_PERMISSION"
  | "E_BRIDGE"
  | "E_EXECUTE"
  | "E_HYPHA"
  | "E_TIMEOUT";

export interface WorkerErrorOptions {
  cause?: unknown;
  /** Extra machine-readable facts (never secrets). */
  details?: Record<string, unknown>;
}

export class WorkerError extends Error {
  readonly code: ErrorCode;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: WorkerErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    if (options.details) this.details = options.details;
  }

  toJSON(): Record<string, unknown> {
    return { name: this.name, code: this.code, message: this.message, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Bad command-line usage: unknown command or flag, missing argument. */
export class UsageError extends WorkerError {
  constructor(message: string, options?: WorkerErrorOptions) {
    super("E_USAGE", `${message}\nRun 'hypha-conda-worker --help' for usage.`, options);
  }
}

/** A setting (flag, env var, config key) that is missing or invalid. */
export class ConfigError extends WorkerError {
  constructor(message: string, options?: WorkerErrorOptions) {
    super("E_CONFIG", message, options);
  }
}

/** A manifest or environment.yml that is not valid. */
export class ManifestError extends WorkerError {
  constructor(message: string, options?: WorkerErrorOptions) {
    super("E_MANIFEST", message, options);
  }
}

/** Something failed in the environment layer (package manager, create, verify, cache, lock). */
export class EnvError extends WorkerError {}

/** Something failed in a session (app files, launch, process). */
export class SessionError extends WorkerError {}

/** The caller may not do this (other workspace, workspace not authorized). */
export class PermissionError extends WorkerError {
  constructor(message: string, options?: WorkerErrorOptions) {
    super("E_PERMISSION", message, options);
  }
}

/** The Python bridge failed (handshake, malformed frame, app gone). */
export class BridgeError extends WorkerError {}

/** Returns a one-line human description of any thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** Returns true when `error` is a WorkerError with the given code. */
export function hasCode(error: unknown, code: ErrorCode): error is WorkerError {
  return error instanceof WorkerError && error.code === code;
}
