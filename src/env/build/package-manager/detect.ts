/**
 * Finding the package manager: `mamba`, then `micromamba`, then `conda` on PATH, then MAMBA_EXE and
 * CONDA_EXE, then a micromamba bootstrapped into the cache; or exactly the one the operator named
 * (`--package-manager NAME|PATH`). Each candidate is probed with `--version`, whose text tells the flavour
 * apart (reference/conda-family.md): "conda X", "mamba 1.x" + conda's line, or a bare version (micromamba,
 * mamba 2).
 */
import { constants as fsConstants, promises as fs } from "node:fs";
import path from "node:path";
import { loadExeca } from "../../../load-execa.js";
import { EnvError } from "../../../errors.js";
import type { PackageManagerInfo, PackageManagerName, PackageManagerReport } from "../../types.js";
import { filterToolEnv } from "./argv.js";
export { flavourOf, majorOf, type Flavour } from "./flavour.js";

export const SEARCH_ORDER: PackageManagerName[] = ["mamba", "micromamba", "conda"];
const VERSION_TIMEOUT_MS = 30_000;

export interface DetectOptions {
  env: NodeJS.ProcessEnv;
  /** A name looked up on PATH, or an absolute path. */
  explicit?: string;
  /** Further absolute paths to try last (e.g. a bootstrapped micromamba). */
  extraCandidates?: string[];
}

/** Parses `--version` output into a name and version; undefined when it is not a conda-family tool. */
export function parseVersionOutput(output: string, executableName: string): { name: PackageManagerName; version: string; condaVersion?: string } | undefined {
  const lines = output.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  const first = lines[0] ?? "";
  const version = "(\\d+\\.\\d+(?:\\.\\d+)?(?:[.+-]?[A-Za-z0-9]+)*)";
  const conda = new RegExp(`^conda ${version}$`).exec(first);
  if (conda) return { name: "conda", version: conda[1]! };
  const mamba = new RegExp(`^mamba ${version}$`).exec(first);
  if (mamba) {
    // mamba 1.x prints its own line, then the wrapped conda's ("conda 23.11.0").
    const wrapped = new RegExp(`^conda ${version}$`).exec(lines[1] ?? "");
    return { name: "mamba", version: mamba[1]!, ...(wrapped ? { condaVersion: wrapped[1]! } : {}) };
  }
  const bare = new RegExp(`^${version}$`).exec(first);
  if (bare) {
    const base = path.basename(executableName).toLowerCase();
    const name: PackageManagerName = base.includes("mamba") && !base.includes("micromamba") ? "mamba" : "micromamba";
    return { name, version: bare[1]! };
  }
  return undefined;
}

/** Returns why `info` cannot be driven, or undefined when it is supported. */
export function unsupportedReason(info: PackageManagerInfo): string | undefined {
  const [major = 0, minor = 0] = info.version.split(".").map((p) => Number.parseInt(p, 10));
  if (info.name === "conda" && (major < 23 || (major === 23 && minor < 7))) {
    return `conda ${info.version} is older than 23.7 (no 'env create --yes'); update conda or use micromamba`;
  }
  if (info.name === "micromamba" && major < 1) return `micromamba ${info.version} is older than 1.0; update it`;
  if (info.name === "mamba" && major < 2 && info.condaVersion !== undefined && isOlderThan(info.condaVersion, 23, 7)) {
    // `mamba env create` is conda's parser: before conda 23.7 it has no --yes (it was --force).
    return `mamba ${info.version} wraps conda ${info.condaVersion}, older than 23.7 (no 'env create --yes'); update conda in mamba's base env, or use micromamba`;
  }
  return undefined;
}

function isOlderThan(version: string, wantMajor: number, wantMinor: number): boolean {
  const [major = 0, minor = 0] = version.split(".").map((p) => Number.parseInt(p, 10));
  return major < wantMajor || (major === wantMajor && minor < wantMinor);
}

/** Finds `name` in the PATH list; returns the absolute path of the first executable file. */
export async function findOnPath(name: string, pathValue: string | undefined): Promise<string | undefined> {
  for (const dir of (pathValue ?? "").split(path.delimiter)) {
    if (!dir || !path.isAbsolute(dir)) continue;
    const candidate = path.join(dir, name);
    if (await isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

export async function isExecutableFile(file: string): Promise<boolean> {
  try {
    await fs.access(file, fsConstants.X_OK);
    return (await fs.stat(file)).isFile();
  } catch {
    return false;
  }
}

/** Runs `<file> --version` and identifies the tool. */
export async function probePackageManager(file: string, env: NodeJS.ProcessEnv): Promise<PackageManagerInfo> {
  // The probe is a package-manager process like any other: no secrets in its environment.
  const execa = await loadExeca();
  const result = await execa(file, ["--version"], { env: filterToolEnv(env), extendEnv: false, reject: false, timeout: VERSION_TIMEOUT_MS, stdin: "ignore" });
  const parsed = result.exitCode === 0 ? parseVersionOutput(String(result.stdout), file) : undefined;
  if (!parsed) {
    throw new EnvError(
      "E_PACKAGE_MANAGER",
      `${file} does not look like conda, mamba or micromamba: '${file} --version' ${result.exitCode === 0 ? `printed ${JSON.stringify(String(result.stdout).slice(0, 200))}` : `failed (${result.shortMessage})`}; point --package-manager at a conda-family executable`,
      { details: { path: file } },
    );
  }
  return { ...parsed, path: file };
}

/** Validates an operator-given NAME|PATH and returns the absolute path, or throws naming what was tried. */
export async function resolveExplicit(explicit: string, env: NodeJS.ProcessEnv): Promise<string> {
  if (!explicit || explicit.startsWith("-") || /[\0-\x1f]/.test(explicit)) {
    throw new EnvError("E_CONFIG", `--package-manager ${JSON.stringify(explicit)} is not a valid name or path; give "mamba", "micromamba", "conda" or an absolute path`);
  }
  if (explicit.includes("/")) {
    if (!path.isAbsolute(explicit)) {
      throw new EnvError("E_CONFIG", `--package-manager ${JSON.stringify(explicit)} is a relative path; give an absolute path or a name to look up on PATH`);
    }
    if (!(await isExecutableFile(explicit))) {
      throw new EnvError("E_PACKAGE_MANAGER_NOT_FOUND", `--package-manager ${explicit} is not an executable file; check the path and its permissions (chmod +x)`, { details: { searched: [explicit] } });
    }
    return explicit;
  }
  const found = await findOnPath(explicit, env.PATH);
  if (!found) {
    throw new EnvError("E_PACKAGE_MANAGER_NOT_FOUND", `--package-manager ${explicit} was not found on PATH; install it, add it to PATH, or give its absolute path`, { details: { searched: [`${explicit} on PATH`] } });
  }
  return found;
}

/** Lists every package manager found (probed in parallel) and the one chosen by the search order. */
export async function detectPackageManagers(options: DetectOptions): Promise<PackageManagerReport> {
  const { env } = options;
  if (options.explicit !== undefined) {
    const file = await resolveExplicit(options.explicit, env);
    const info = await probePackageManager(file, env);
    const reason = unsupportedReason(info);
    if (reason) throw new EnvError("E_PACKAGE_MANAGER", reason, { details: { ...info } });
    return { found: [info], chosen: info, searched: [options.explicit] };
  }
  const searched: string[] = [];
  const candidates: string[] = [];
  for (const name of SEARCH_ORDER) {
    searched.push(`${name} on PATH`);
    const found = await findOnPath(name, env.PATH);
    if (found) candidates.push(found);
  }
  for (const variable of ["MAMBA_EXE", "CONDA_EXE"]) {
    const value = env[variable];
    searched.push(`$${variable}${value ? ` (${value})` : ""}`);
    if (value && path.isAbsolute(value) && (await isExecutableFile(value))) candidates.push(value);
  }
  for (const extra of options.extraCandidates ?? []) {
    searched.push(extra);
    if (await isExecutableFile(extra)) candidates.push(extra);
  }
  const unique = await dedupeByRealpath(candidates);
  const probed = await Promise.all(unique.map((file) => probePackageManager(file, env).catch(() => undefined)));
  const found = probed.filter((info): info is PackageManagerInfo => info !== undefined);
  const chosen = found.find((info) => unsupportedReason(info) === undefined);
  return { found, ...(chosen ? { chosen } : {}), searched };
}

async function dedupeByRealpath(files: string[]): Promise<string[]> {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const file of files) {
    const real = await fs.realpath(file).catch(() => file);
    if (seen.has(real)) continue;
    seen.add(real);
    out.push(file);
  }
  return out;
}
