/**
 * The cache key: sha256 over a canonical JSON of the spec (keys sorted, channels in priority order,
 * conda and pip sorted, variables sorted), and the env directory name derived from it.
 */
import { createHash } from "node:crypto";
import { loadYaml } from "../../yaml-lazy.js";
import { EnvError } from "../../errors.js";
import { condaSpecName } from "./match-spec.js";
import type { EnvSpec } from "../types.js";
import { pipPins } from "../lock/lock-file.js";

/** Serialises a JSON value with object keys sorted at every level. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const obj = value as Record<string, unknown>;
    return `{${Object.keys(obj).sort().map((k) => `${JSON.stringify(k)}:${sortedJson(obj[k])}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

/** The canonical JSON of a spec; conda/pip are sorted here too, so a hand-built spec hashes canonically. */
export function canonicalSpecJson(spec: EnvSpec): string {
  // A locked env is keyed by what it holds: the exact package URLs and checksums and the pip pins.
  if (spec.lock) {
    return sortedJson({
      schema: spec.schema,
      locked: spec.lock.format,
      conda: spec.lock.conda.map((p) => ({ url: p.url, md5: p.md5 ?? null, sha256: p.sha256 ?? null })).sort((a, b) => (a.url < b.url ? -1 : a.url > b.url ? 1 : 0)),
      pip: pipPins(spec.lock),
      variables: spec.variables ?? {},
      subdir: spec.subdir,
    });
  }
  return sortedJson({
    schema: spec.schema,
    channels: [...spec.channels],
    conda: [...new Set(spec.conda)].sort(),
    pip: [...new Set(spec.pip)].sort(),
    variables: spec.variables ?? {},
    subdir: spec.subdir,
  });
}

/** The spec without its lock: what a lock is solved from and checked against. */
export function unlockedSpec(spec: EnvSpec): EnvSpec {
  const { lock: _lock, lockNote: _note, ...rest } = spec;
  return rest;
}

/** 64 hex characters: sha256 of the canonical JSON. */
export function hashEnvSpec(spec: EnvSpec): string {
  return createHash("sha256").update(canonicalSpecJson(spec)).digest("hex");
}

/** "<hint>-<first 16 hex>": the hint is the first non-python conda package name, [a-z0-9-], ≤ 24 chars. */
export function envDirName(spec: EnvSpec, hash: string): string {
  if (!/^[0-9a-f]{64}$/.test(hash)) {
    throw new EnvError("E_CACHE", `env hash ${JSON.stringify(hash)} is not 64 lower-case hex characters; compute it with hashEnvSpec()`);
  }
  const first = [...spec.conda].sort().map(condaSpecName).find((name) => name !== "" && name !== "python");
  const hint = (first ?? "env").toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/-+/g, "-").replace(/^-|-$/g, "").slice(0, 24).replace(/-$/, "");
  return `${hint || "env"}-${hash.slice(0, 16)}`;
}

/** The environment.yml ensure-env hands to the package manager: channels, dependencies (+ pip), variables. */
export function toEnvironmentYaml(spec: EnvSpec): string {
  const dependencies: unknown[] = [...spec.conda];
  if (spec.pip.length > 0) dependencies.push({ pip: [...spec.pip] });
  const doc: Record<string, unknown> = { channels: [...spec.channels], dependencies };
  if (Object.keys(spec.variables ?? {}).length > 0) doc.variables = { ...spec.variables };
  // Every scalar double-quoted: specs like "numpy >=1.20" or "a: b" then never change meaning in YAML.
  return loadYaml().stringify(doc, { defaultStringType: "QUOTE_DOUBLE", defaultKeyType: "PLAIN", lineWidth: 0 });
}
