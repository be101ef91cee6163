/** Builds a cache entry by hand (prefix, bin/python link, marker, last-used time) without a package manager. */
import { promises as fs } from "node:fs";
import path from "node:path";
import { cacheLayout } from "../../../src/env/cache/cache-layout.js";
import { envDirName, hashEnvSpec } from "../../../src/env/spec/hash.js";
import { lastUsedPath, writeMarker } from "../../../src/env/cache/marker.js";
import { makeSpec } from "./env-fixtures.js";

export interface HandBuilt {
  hash: string;
  prefix: string;
}

export async function handBuildEnv(cacheDir: string, name: string, options: { sizeBytes?: number; lastUsedAgoMs?: number } = {}): Promise<HandBuilt> {
  const spec = makeSpec(["python", name]);
  const hash = hashEnvSpec(spec);
  const prefix = path.join(cacheLayout(cacheDir).envsDir, envDirName(spec, hash));
  await fs.mkdir(path.join(prefix, "conda-meta"), { recursive: true });
  await fs.mkdir(path.join(prefix, "bin"), { recursive: true });
  await fs.symlink("/usr/bin/python3", path.join(prefix, "bin", "python"));
  await writeMarker({
    format: 1,
    hash,
    spec,
    prefix,
    createdAt: new Date(Date.now() - 86_400_000).toISOString(),
    packageManager: { name: "micromamba", version: "1.5.12", path: "/bin/micromamba" },
    activation: { CONDA_PREFIX: prefix },
    sizeBytes: options.sizeBytes ?? 1000,
  });
  const used = new Date(Date.now() - (options.lastUsedAgoMs ?? 0));
  await fs.writeFile(lastUsedPath(prefix), "");
  await fs.utimes(lastUsedPath(prefix), used, used);
  return { hash, prefix };
}
