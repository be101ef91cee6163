/**
 * `cache export` / `cache import`: a gzip tar holding `hypha-env-archive.json` and the env folder
 * `<dirName>/...` (prefix + marker). Envs are not relocatable, so import only accepts archives made in the
 * same cache path on the same platform, validates every entry before writing, extracts into a temp dir
 * under envs/, and renames it into place under the env's lock: a half-imported env is never visible.
 */
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, readdir, readlink, rename, rm, stat, symlink } from "node:fs/promises";
import { basename, dirname, isAbsolute, join, normalize, relative, sep } from "node:path";
import { randomBytes } from "node:crypto";
import { Header, Pack, ReadEntry, extract } from "tar";
import { EnvError } from "../../errors.js";
import { VERSION } from "../../version.js";
import { ARCHIVE_FORMAT, ARCHIVE_FORMAT_VERSION, ARCHIVE_MANIFEST_NAME, inspectArchive, type ArchiveManifest } from "./archive-check.js";
import { cacheLayout, envLockPath, envPrefixFor } from "./cache-layout.js";
import { DEFAULT_LOCK_STALE_MS, withLock } from "./lock.js";
import { markerPath, readMarker } from "./marker.js";
import { currentSubdir } from "../spec/spec.js";
import { listCachedEnvs, type ListedEnv } from "../operator/cache-list.js";
import { resolveEnv } from "./evict.js";
import type { EnvManager } from "../types.js";

export { inspectArchive, type ArchiveManifest, type InspectOptions } from "./archive-check.js";

export interface ExportResult {
  file: string;
  hash: string;
  prefix: string;
  bytes: number;
  /** Symlinks out of the env (importing them needs allowExternalLinks). */
  externalLinks: Array<{ path: string; target: string }>;
}

export interface ImportOptions {
  /** Replace an existing (unused) env with the same hash. */
  force?: boolean;
  /** Accept symlinks to absolute paths outside the env, e.g. a venv-style python (see docs). */
  allowExternalLinks?: boolean;
}

export interface ImportResult {
  hash: string;
  prefix: string;
  replaced: boolean;
}

async function pathExists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}

/** How long import waits for an env's lock (a create of the same env may be running). */
const IMPORT_LOCK_WAIT_MS = 10 * 60_000;

/** Finds a cached env by full hash, hash prefix (≥ 6 hex) or prefix path, with the env layer's own rules. */
export async function findEnv(manager: EnvManager, hashOrPrefix: string): Promise<ListedEnv> {
  const layout = cacheLayout(manager.options.cacheDir);
  return resolveEnv(layout, hashOrPrefix, await listCachedEnvs(layout));
}

/** Symlinks under `prefix` whose absolute targets lie outside it (recorded so import can explain them). */
async function externalLinksOf(prefix: string): Promise<Array<{ path: string; target: string }>> {
  const found: Array<{ path: string; target: string }> = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isSymbolicLink()) {
        const target = await readlink(full);
        const resolved = normalize(target);
        if (isAbsolute(target) && resolved !== prefix && !resolved.startsWith(prefix + sep)) {
          found.push({ path: relative(prefix, full).split(sep).join("/"), target });
        }
      }
    }
  };
  await walk(prefix);
  return found.sort((a, b) => a.path.localeCompare(b.path));
}

/** A synthetic tar entry holding the archive manifest (so it sits at the root beside the env folder). */
function manifestEntry(manifest: ArchiveManifest): ReadEntry {
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`, "utf8");
  const header = new Header({ path: ARCHIVE_MANIFEST_NAME, mode: 0o644, size: body.length, mtime: new Date(), type: "File", uid: 0, gid: 0 });
  const entry = new ReadEntry(header);
  entry.write(body);
  entry.end();
  return entry;
}

/** Writes `<cache>/envs/<dirName>` and a manifest to `outFile` (gzip tar); the file appears only when complete. */
export async function exportEnv(manager: EnvManager, hashOrPrefix: string, outFile: string): Promise<ExportResult> {
  const entry = await findEnv(manager, hashOrPrefix);
  const marker = entry.marker;
  // A lease keeps gc away while the env is read.
  const lease = await manager.acquireLease(entry.hash, `export-${process.pid}`);
  const target = join(dirname(outFile), `.${basename(outFile)}.${randomBytes(4).toString("hex")}.tmp`);
  let externalLinks: Array<{ path: string; target: string }>;
  try {
    externalLinks = await externalLinksOf(entry.prefix);
    const manifest: ArchiveManifest = {
      format: ARCHIVE_FORMAT,
      formatVersion: ARCHIVE_FORMAT_VERSION,
      hash: entry.hash,
      dirName: basename(entry.prefix),
      cachePath: cacheLayout(manager.options.cacheDir).root,
      prefix: marker.prefix,
      platform: marker.spec.subdir ?? currentSubdir(),
      tool: marker.packageManager,
      ...(externalLinks.length > 0 ? { externalLinks } : {}),
      createdAt: entry.createdAt,
      exportedAt: new Date().toISOString(),
      workerVersion: VERSION,
    };
    await new Promise<void>((resolvePromise, reject) => {
      const pack = new Pack({ cwd: dirname(entry.prefix), gzip: true, portable: true });
      const out = createWriteStream(target);
      pack.on("error", reject);
      out.on("error", reject);
      out.on("close", () => resolvePromise());
      pack.pipe(out);
      pack.add(manifestEntry(manifest));
      pack.add(manifest.dirName);
      pack.end();
    });
    await rename(target, outFile);
  } catch (error) {
    await rm(target, { force: true });
    throw new EnvError("E_ARCHIVE", `could not write ${outFile}: ${(error as Error).message}; check that its folder exists and is writable.`, { cause: error });
  } finally {
    await lease.release();
  }
  return { file: outFile, hash: entry.hash, prefix: entry.prefix, bytes: (await stat(outFile)).size, externalLinks };
}

/** Refuses archives that cannot work here: another cache path or another platform. */
function checkCompatible(file: string, manifest: ArchiveManifest, cachePath: string, prefix: string): void {
  if (manifest.cachePath !== cachePath || manifest.prefix !== prefix) {
    throw new EnvError(
      "E_ARCHIVE",
      `${file} was exported from cache ${manifest.cachePath}, but this cache is ${cachePath}. Conda envs are not relocatable (scripts and ` +
        `files hold the absolute prefix), so it can only be imported into a cache at the same path: run import with --cache-dir ${manifest.cachePath}, ` +
        `or rebuild the env here with 'hypha-conda-worker prewarm'.`,
      { details: { archiveCachePath: manifest.cachePath, cachePath } },
    );
  }
  const here = currentSubdir();
  if (manifest.platform !== here) {
    throw new EnvError("E_ARCHIVE", `${file} holds a ${manifest.platform} env, but this machine is ${here}; rebuild the env here with 'hypha-conda-worker prewarm'.`, {
      details: { archivePlatform: manifest.platform, platform: here },
    });
  }
}

/** Quick check of a staged copy's marker (readMarker itself insists the marker sits at its final prefix). */
async function stagedMarkerMatches(staged: string, manifest: ArchiveManifest): Promise<boolean> {
  try {
    const value = JSON.parse(await readFile(markerPath(staged), "utf8")) as { hash?: unknown; prefix?: unknown };
    return value.hash === manifest.hash && value.prefix === manifest.prefix;
  } catch {
    return false;
  }
}

/** Imports an env archive into the cache; validates everything first and never leaves a partial env. */
export async function importEnv(manager: EnvManager, file: string, options: ImportOptions = {}): Promise<ImportResult> {
  if (!(await pathExists(file))) throw new EnvError("E_ARCHIVE", `archive ${file} does not exist; give the path of a file written by 'cache export'.`);
  const layout = cacheLayout(manager.options.cacheDir);
  let prefix = "";
  // Compatibility first (the more fundamental refusal), then every entry; nothing is written before both pass.
  const { manifest, absoluteLinks } = await inspectArchive(file, {
    allowExternalLinks: Boolean(options.allowExternalLinks),
    checkManifest: (m) => {
      prefix = envPrefixFor(layout, m.dirName);
      checkCompatible(file, m, layout.root, prefix);
    },
  });
  await mkdir(layout.envsDir, { recursive: true });

  const lockOptions = { label: `env ${manifest.hash.slice(0, 12)}`, staleMs: DEFAULT_LOCK_STALE_MS, waitTimeoutMs: IMPORT_LOCK_WAIT_MS };
  return withLock(envLockPath(layout, manifest.hash), lockOptions, async () => {
    const exists = await pathExists(prefix);
    if (exists && !options.force) {
      throw new EnvError("E_ARCHIVE", `env ${manifest.hash.slice(0, 12)} already exists at ${prefix}; nothing was changed. Use --force to replace it, or 'cache remove' it first.`);
    }
    if (exists) {
      const current = (await manager.listEnvs()).find((e) => e.hash === manifest.hash);
      if (current?.inUse) {
        throw new EnvError("E_ENV_IN_USE", `env ${manifest.hash.slice(0, 12)} is in use by a running session; nothing was changed. Stop the session before replacing the env.`);
      }
    }
    const staging = await mkdtemp(join(layout.envsDir, `.import-${manifest.hash.slice(0, 16)}-`));
    const replaced = join(staging, "replaced");
    let movedOld = false;
    try {
      const madeByHand = new Set(absoluteLinks.map((l) => l.path));
      await extract({
        file,
        cwd: staging,
        strict: true,
        preservePaths: false,
        filter: (path) => {
          const p = path.replace(/\/+$/, "");
          return p !== ARCHIVE_MANIFEST_NAME && !madeByHand.has(p);
        },
      });
      // tar strips the leading "/" of absolute link targets; these were validated above, so create them as recorded.
      for (const link of absoluteLinks) {
        const where = join(staging, ...link.path.split("/"));
        await mkdir(dirname(where), { recursive: true });
        await symlink(link.target, where);
      }
      const staged = join(staging, manifest.dirName);
      if (!(await stagedMarkerMatches(staged, manifest))) {
        throw new EnvError("E_ARCHIVE", `${file} holds an env whose marker does not match hash ${manifest.hash.slice(0, 12)} at ${manifest.prefix}; nothing was imported. Re-export the env.`);
      }
      if (exists) {
        await rename(prefix, replaced);
        movedOld = true;
      }
      await rename(staged, prefix);
      if (!(await readMarker(prefix))) {
        await rename(prefix, staged);
        throw new EnvError("E_ARCHIVE", `${file} holds an env whose marker is not valid; nothing was imported. Re-export the env.`);
      }
      movedOld = false;
      return { hash: manifest.hash, prefix, replaced: exists };
    } catch (error) {
      // Put a replaced env back when the new one did not make it into place.
      if (movedOld && !(await pathExists(prefix))) await rename(replaced, prefix).catch(() => undefined);
      if (error instanceof EnvError) throw error;
      throw new EnvError("E_ARCHIVE", `could not extract ${file}: ${(error as Error).message}; nothing was imported.`, { cause: error });
    } finally {
      await rm(staging, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 });
    }
  });
}
