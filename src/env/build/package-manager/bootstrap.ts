/**
 * Bootstraps micromamba into `<cacheDir>/bin/micromamba` when no package manager is installed.
 *
 * Source: the official release assets, `https://github.com/mamba-org/micromamba-releases/releases/
 * download/<tag>/micromamba-<subdir>` with `<asset>.sha256` next to it, or a mirror folder holding the
 * same two files (`baseUrl`, HYPHA_CONDA_MICROMAMBA_URL).
 * Checksum: the `.sha256` file is always fetched. For the official location the downloaded binary must
 * ALSO match the pinned table below (a checksum served beside the binary only proves the host agrees
 * with itself); for a mirror the mirror's `.sha256` (or `expectedSha256`) is what is trusted.
 * Writes go to a unique temp file in the same folder, then rename: concurrent bootstraps are safe and a
 * failed or mismatched download leaves nothing behind.
 */
import { createHash, randomBytes } from "node:crypto";
import { chmod, mkdir, open, readFile, readdir, rename, rm, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { EnvError } from "../../../errors.js";
import { createProgressReporter, type ProgressSink } from "../../../progress.js";
import { redact } from "../../../redact.js";
import { currentSubdir } from "../../spec/spec.js";

export const MICROMAMBA_VERSION = "2.9.0-0";
export const MICROMAMBA_RELEASE_URL = `https://github.com/mamba-org/micromamba-releases/releases/download/${MICROMAMBA_VERSION}`;
/** sha256 of the official micromamba-<subdir> assets of MICROMAMBA_VERSION. */
export const MICROMAMBA_SHA256: Readonly<Record<string, string>> = {
  "linux-64": "366cd9cd8be14df1ab8ed50352a82111082a36686b2d389fdb79a92c3fafb3e3",
  "linux-aarch64": "9f93b974adcb4d166996af969b6cd371287d1a3e52733704727884d9b74cb7a7",
  "osx-64": "1e71054bb3ac9a076e21f7ec48acfef536f9b3f1408f371a942784bf5ef83d8a",
  "osx-arm64": "ec2a072f028e1a7cf20f3e2e74d5a8127cf5a5f27636375b5359811565f4e5be",
};
const SUPPORTED_SUBDIRS = ["linux-64", "linux-aarch64", "linux-ppc64le", "osx-64", "osx-arm64", "win-64"];
const MAX_BINARY_BYTES = 256 * 1024 * 1024;
const DOWNLOAD_TIMEOUT_MS = 10 * 60_000;

export interface BootstrapOptions {
  cacheDir: string;
  /** Folder URL holding micromamba-<subdir> and micromamba-<subdir>.sha256; official release when absent. */
  baseUrl?: string;
  /** conda subdir to fetch for; this machine's when absent. */
  platform?: string;
  onProgress?: ProgressSink;
  fetchImpl?: typeof fetch;
  /** A checksum the operator pins for a mirror; must match in addition to the .sha256 file. */
  expectedSha256?: string;
  timeoutMs?: number;
}

/** Where the bootstrapped executable lives. */
export function micromambaBinPath(cacheDir: string, platform = currentSubdir()): string {
  return path.join(cacheDir, "bin", platform.startsWith("win-") ? "micromamba.exe" : "micromamba");
}

function bootstrapError(message: string, cause?: unknown): EnvError {
  // URL credentials (scheme://user:pass@host) never reach the message.
  const clean = redact(message).replace(/(\/\/)[^/@\s"]*@/g, "$1***@");
  return new EnvError("E_BOOTSTRAP", clean, cause === undefined ? {} : { cause });
}

async function sha256File(file: string): Promise<string | undefined> {
  try {
    return createHash("sha256").update(await readFile(file)).digest("hex");
  } catch {
    return undefined;
  }
}

/** Returns the executable when a previous bootstrap of this version left a verified copy. */
async function findVerifiedCopy(bin: string, platform: string): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(`${bin}.json`, "utf8")) as Record<string, unknown>;
    if (record.version !== MICROMAMBA_VERSION || record.platform !== platform) return undefined;
    return (await sha256File(bin)) === record.sha256 ? bin : undefined;
  } catch {
    return undefined;
  }
}

async function fetchOrFail(fetchImpl: typeof fetch, url: string, what: string, signal: AbortSignal): Promise<Response> {
  let response: Response;
  try {
    response = await fetchImpl(url, { signal, redirect: "follow" });
  } catch (error) {
    throw bootstrapError(
      `could not download ${what} from ${url}: ${(error as Error).message}. Check the network, set HYPHA_CONDA_MICROMAMBA_URL to a reachable mirror, or install mamba/micromamba/conda and pass --package-manager`,
      error,
    );
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw bootstrapError(
      `downloading ${what} from ${url} failed with HTTP ${response.status}; check the URL (micromamba ${MICROMAMBA_VERSION} for this platform), set HYPHA_CONDA_MICROMAMBA_URL to a mirror, or install a package manager and pass --package-manager`,
    );
  }
  return response;
}

/** Streams the body into `file` while hashing it; returns the hex digest. */
async function downloadTo(response: Response, file: string, url: string): Promise<string> {
  const hash = createHash("sha256");
  const handle = await open(file, "wx", 0o600);
  let size = 0;
  try {
    if (!response.body) throw bootstrapError(`the response from ${url} has no body`);
    for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_BINARY_BYTES) throw bootstrapError(`${url} is larger than ${MAX_BINARY_BYTES / 1024 / 1024} MiB; this is not a micromamba binary, check the URL`);
      hash.update(chunk);
      await handle.write(chunk);
    }
  } finally {
    await handle.close();
  }
  if (size === 0) throw bootstrapError(`${url} returned an empty file; check the URL or mirror`);
  return hash.digest("hex");
}

/** Downloads, verifies and installs micromamba; returns the executable's path. */
export async function bootstrapMicromamba(opts: BootstrapOptions): Promise<string> {
  const platform = opts.platform ?? currentSubdir();
  if (!SUPPORTED_SUBDIRS.includes(platform)) {
    throw bootstrapError(`micromamba is not published for platform ${JSON.stringify(platform)}; install conda or mamba and pass --package-manager`);
  }
  const bin = micromambaBinPath(opts.cacheDir, platform);
  const existing = await findVerifiedCopy(bin, platform);
  if (existing) return existing;

  const baseUrl = (opts.baseUrl ?? process.env.HYPHA_CONDA_MICROMAMBA_URL ?? MICROMAMBA_RELEASE_URL).trim().replace(/\/+$/, "");
  if (!/^https?:\/\/[^\s@/]+\/?[^\s]*$/.test(baseUrl) || /\/\/[^/]*@/.test(baseUrl)) {
    throw bootstrapError(`micromamba URL ${JSON.stringify(baseUrl)} is not an http(s) URL without credentials; fix --micromamba-url / HYPHA_CONDA_MICROMAMBA_URL`);
  }
  const official = baseUrl === MICROMAMBA_RELEASE_URL;
  const url = `${baseUrl}/micromamba-${platform}`;
  const pinned = official ? MICROMAMBA_SHA256[platform] : undefined;
  const expectedOverride = opts.expectedSha256?.trim().toLowerCase();
  if (expectedOverride !== undefined && !/^[0-9a-f]{64}$/.test(expectedOverride)) {
    throw bootstrapError(`expected micromamba sha256 ${JSON.stringify(opts.expectedSha256)} is not 64 hex characters`);
  }
  const reporter = createProgressReporter(opts.onProgress);
  reporter.report("bootstrapping", "info", `bootstrapping micromamba ${MICROMAMBA_VERSION} from ${url}`, { url, version: MICROMAMBA_VERSION, platform });

  const fetchImpl = opts.fetchImpl ?? fetch;
  const signal = AbortSignal.timeout(opts.timeoutMs ?? DOWNLOAD_TIMEOUT_MS);
  const shaText = await (await fetchOrFail(fetchImpl, `${url}.sha256`, "the micromamba checksum", signal)).text();
  const published = /^\s*([0-9a-fA-F]{64})(?:\s|$)/.exec(shaText)?.[1]?.toLowerCase();
  if (!published) throw bootstrapError(`${url}.sha256 does not contain a sha256 checksum; check the URL or mirror`);
  for (const [label, value] of [["pinned", pinned], ["operator-pinned", expectedOverride]] as const) {
    if (value !== undefined && value !== published) {
      throw bootstrapError(`the checksum published at ${url}.sha256 (${published}) differs from the ${label} one (${value}); refusing to install micromamba`);
    }
  }

  const binDir = path.dirname(bin);
  const createdDir = await mkdir(binDir, { recursive: true });
  const tmp = path.join(binDir, `.micromamba-${process.pid}-${randomBytes(6).toString("hex")}.tmp`);
  try {
    const actual = await downloadTo(await fetchOrFail(fetchImpl, url, "micromamba", signal), tmp, url);
    if (actual !== published) {
      throw bootstrapError(`micromamba downloaded from ${url} has sha256 ${actual}, expected ${published}; the download is corrupt or tampered with, nothing was installed. Retry, or use another mirror`);
    }
    await chmod(tmp, 0o755);
    await rename(tmp, bin);
    const record = JSON.stringify({ version: MICROMAMBA_VERSION, platform, sha256: actual, url, installedAt: new Date().toISOString() });
    const recordTmp = `${tmp}.json`;
    await writeFile(recordTmp, `${record}\n`);
    await rename(recordTmp, `${bin}.json`);
  } catch (error) {
    await rm(tmp, { force: true });
    await rm(`${tmp}.json`, { force: true });
    // Leave no empty bin/ behind if this call created it.
    if (createdDir && (await readdir(binDir).catch(() => ["?"])).length === 0) await rmdir(binDir).catch(() => undefined);
    if (error instanceof EnvError) throw error;
    throw bootstrapError(`installing micromamba into ${binDir} failed: ${(error as Error).message}; check that the cache directory is writable`, error);
  }
  reporter.report("bootstrapping", "success", `micromamba ${MICROMAMBA_VERSION} installed at ${bin}`, { path: bin });
  return bin;
}
