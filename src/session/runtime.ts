/**
 * The modules a session drives but does not own: manifest normalisation and spec resolution (env layer),
 * the runner command and the bridge host (bridge layer). One object, so tests can substitute it.
 */
import { normalizeManifest, resolveEnvSpec } from "../env/spec/manifest.js";
import { buildRunnerCommand } from "../bridge/runner-command.js";
import { createBridgeHost } from "../bridge/host.js";
import type { SessionRuntime } from "./types.js";

export const defaultRuntime: SessionRuntime = {
  normalizeManifest,
  resolveEnvSpec: (manifest, readAppFile, options) => resolveEnvSpec(manifest as Parameters<typeof resolveEnvSpec>[0], readAppFile, options),
  buildRunnerCommand,
  createBridgeHost,
};
