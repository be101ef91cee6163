/**
 * environment.yml / environment.yaml parsing: plain YAML (core schema, no custom tags, limited aliases),
 * at most 256 KiB, a mapping with `name?`, `channels`, `dependencies`, `variables` (and `prefix`, which
 * conda's `env export` writes and which is ignored like `name`).
 */
import { loadYaml } from "../../yaml-lazy.js";
import { ManifestError } from "../../errors.js";
import { isPlainObject, quoteItem } from "../spec/spec-text.js";

export const ENVIRONMENT_FILE_NAMES: readonly string[] = ["environment.yml", "environment.yaml"];
export const MAX_ENVIRONMENT_FILE_BYTES = 256 * 1024;
const KNOWN_KEYS = new Set(["name", "prefix", "channels", "dependencies", "variables"]);

export interface EnvironmentFileContent {
  channels?: unknown;
  dependencies?: unknown;
  variables?: unknown;
}

/** Parses the file's text; throws ManifestError saying what is wrong and where. */
export function parseEnvironmentFile(text: string, fileName = "environment.yml"): EnvironmentFileContent {
  if (typeof text !== "string") throw new ManifestError(`${fileName} must be text`);
  if (Buffer.byteLength(text, "utf8") > MAX_ENVIRONMENT_FILE_BYTES) {
    throw new ManifestError(`${fileName} is larger than ${MAX_ENVIRONMENT_FILE_BYTES / 1024} KiB; an environment file lists packages, trim it`);
  }
  const doc = loadYaml().parseDocument(text, { schema: "core", uniqueKeys: true, prettyErrors: false, strict: true });
  const problem = doc.errors[0] ?? doc.warnings[0];
  if (problem) {
    throw new ManifestError(`${fileName} is not valid YAML: ${problem.message.split("\n")[0]}; fix the file (plain YAML, no custom tags)`, { cause: problem });
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 50 });
  } catch (error) {
    throw new ManifestError(`${fileName} could not be read: ${(error as Error).message}; avoid YAML aliases`, { cause: error });
  }
  if (!isPlainObject(data)) {
    throw new ManifestError(`${fileName} must be a mapping with channels, dependencies and variables, not ${quoteItem(data)}`);
  }
  const unknown = Object.keys(data).filter((key) => !KNOWN_KEYS.has(key));
  if (unknown.length > 0) {
    throw new ManifestError(`${fileName} has unknown key(s) ${unknown.map((k) => quoteItem(k)).join(", ")}; allowed: name, channels, dependencies, variables`);
  }
  const out: EnvironmentFileContent = {};
  if (data.channels !== undefined) out.channels = data.channels;
  if (data.dependencies !== undefined) out.dependencies = data.dependencies;
  if (data.variables !== undefined) out.variables = data.variables;
  return out;
}
