/** Library entry: what another Node service imports to embed the worker. */
export * from "./errors.js";
export { createLogger, silentLogger, type Logger, type LogLevel } from "./logger.js";
export { createProgressReporter, type ProgressEvent, type ProgressSink, type ProgressPhase, type ProgressType } from "./progress.js";
export { registerSecret, redact } from "./redact.js";
export { VERSION } from "./version.js";
export { normalizeManifest, resolveEnvSpec, type NormalizedManifest } from "./env/manifest.js";
export { buildEnvSpec, currentSubdir, specFromEnvironmentFile, ENV_SPEC_SCHEMA, type SpecOptions } from "./env/spec.js";
export { hashEnvSpec, envDirName, canonicalSpecJson, toEnvironmentYaml } from "./env/hash.js";
export { compileApp } from "./env/compile.js";
export { defaultCacheDir, parseSize, parseDuration } from "./config.js";
export { resolveEnvOptions, ENV_OPTION_SPECS, ENV_OPTIONS_HELP } from "./cli/env-options.js";
export { bootstrapMicromamba, MICROMAMBA_VERSION } from "./env/package-manager/bootstrap.js";
