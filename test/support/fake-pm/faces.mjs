// The three faces: which flavour an executable name stands for, its version text, its directories and its
// `info --json` keys (reference/conda-family.md, "Telling them apart").
import fs from "node:fs";
import os from "node:os";
import { parse as parseYaml } from "yaml";
import path from "node:path";
import { HOST_SUBDIR } from "./channels.mjs";

export const CONDA_VERSION = "25.11.1";

/** {face, style: "conda"|"libmamba", major, version} for argv[1]'s basename and the env knobs. */
export function detectFlavour(executable, env) {
  const base = path.basename(executable).replace(/\.(m?js|exe)$/, "");
  const face = base.startsWith("micromamba") ? "micromamba" : base.startsWith("mamba") ? "mamba" : "conda";
  if (face === "conda") return { face, style: "conda", version: env.FAKE_PM_VERSION || CONDA_VERSION };
  if (face === "micromamba") return { face, style: "libmamba", version: env.FAKE_PM_VERSION || "1.5.12" };
  const major = env.FAKE_PM_MAMBA_MAJOR === "1" || env.FAKE_PM_VERSION?.startsWith("1.") ? 1 : 2;
  if (major === 1) return { face, style: "conda", mamba1: true, version: env.FAKE_PM_VERSION || "1.5.12" };
  return { face, style: "libmamba", version: env.FAKE_PM_VERSION || "2.0.5" };
}

/** conda ≥ 26.7: `env create` is `create`, which resolves `nodefaults` as a channel name; no implicit `defaults`. */
export function isCondaCreateAlias(flavour) {
  if (flavour.face !== "conda") return false;
  const [major = 0, minor = 0] = flavour.version.split(".").map((p) => Number.parseInt(p, 10));
  return major > 26 || (major === 26 && minor >= 7);
}

/** libmamba ≥ 2.8 says only "unsupported request" for a missing package in --json; the reason is in the plain text. */
export function isTerseSolverJson(flavour) {
  if (flavour.style !== "libmamba") return false;
  const [major = 0, minor = 0] = flavour.version.split(".").map((p) => Number.parseInt(p, 10));
  return major > 2 || (major === 2 && minor >= 8);
}

/** libmamba ≥ 2.8 adds pip only to a python the request names; a python pulled in as a dependency comes without it (measured on 2.8.1). */
export function addsPipOnlyToRequestedPython(flavour) {
  return isTerseSolverJson(flavour);
}

/** libmamba ≥ 2.8 registers every env it creates: no setting reaches register_envs (measured on micromamba/mamba 2.8.1). */
export function alwaysRegistersEnvs(flavour) {
  return isTerseSolverJson(flavour);
}

export function versionText(flavour) {
  if (flavour.face === "conda") return `conda ${flavour.version}\n`;
  if (flavour.mamba1) return `mamba ${flavour.version}\nconda ${CONDA_VERSION}\n`;
  return `${flavour.version}\n`;
}

function home(env) {
  return env.HOME || os.homedir();
}

/** conda's install root: FAKE_PM_CONDA_ROOT, else ~/miniforge3 (never touched unless written to). */
export function rootPrefix(flavour, env, opts) {
  if (flavour.style === "conda") return env.FAKE_PM_CONDA_ROOT || path.join(home(env), "miniforge3");
  const fromEnv = opts.noEnv ? undefined : env.MAMBA_ROOT_PREFIX;
  const fallback = flavour.face === "micromamba" && !flavour.version.startsWith("2.")
    ? path.join(home(env), "micromamba")
    : path.join(home(env), ".local", "share", "mamba");
  return path.resolve(opts.rootPrefix || fromEnv || fallback);
}

/** Package cache directories, first one used for extraction. */
export function pkgsDirs(flavour, env, opts) {
  const split = (v) => v.split(",").map((s) => s.trim()).filter(Boolean).map((p) => path.resolve(p));
  if (flavour.style === "conda") {
    // Measured on 26.7.1: CONDA_PKGS_DIRS entries come first, then ~/.condarc's pkgs_dirs (merged, not replaced).
    const merged = [...(env.CONDA_PKGS_DIRS ? split(env.CONDA_PKGS_DIRS) : []), ...(readRcList(path.join(home(env), ".condarc"), "pkgs_dirs") ?? []).map((p) => path.resolve(p))];
    if (merged.length > 0) return [...new Set(merged)];
    return [path.join(rootPrefix(flavour, env, opts), "pkgs"), path.join(home(env), ".conda", "pkgs")];
  }
  // libmamba's pkgs_dirs reads CONDA_PKGS_DIRS only (no MAMBA_PKGS_DIRS, no command-line flag).
  if (!opts.noEnv && env.CONDA_PKGS_DIRS) return split(env.CONDA_PKGS_DIRS);
  return [path.join(rootPrefix(flavour, env, opts), "pkgs")];
}

export function envsDirs(flavour, env, opts) {
  if (flavour.style === "conda") return [path.join(rootPrefix(flavour, env, opts), "envs"), path.join(home(env), ".conda", "envs")];
  return [path.join(rootPrefix(flavour, env, opts), "envs")];
}

/**
 * Channels configured outside the command line: CONDA_CHANNELS (libmamba reads no MAMBA_CHANNELS), else
 * the `channels` list of the operator's ~/.condarc (and ~/.mambarc for libmamba unless --no-rc), else the default.
 */
export function configuredChannels(flavour, env, opts) {
  const fromEnv = flavour.style === "conda" ? env.CONDA_CHANNELS : opts.noEnv ? undefined : env.CONDA_CHANNELS;
  if (fromEnv) return fromEnv.split(",").map((s) => s.trim()).filter(Boolean);
  const rcFiles = flavour.style === "conda" ? [".condarc"] : opts.noRc ? [] : [".mambarc", ".condarc"];
  for (const name of rcFiles) {
    const channels = readRcList(path.join(home(env), name), "channels");
    if (channels) return channels;
  }
  return flavour.style === "conda" && !isCondaCreateAlias(flavour) ? ["defaults"] : [];
}

function readRcList(file, key) {
  if (!fs.existsSync(file)) return undefined;
  const doc = parseYaml(fs.readFileSync(file, "utf8")) ?? {};
  return Array.isArray(doc[key]) ? doc[key].map(String) : undefined;
}

export function infoJson(flavour, env, opts) {
  const root = rootPrefix(flavour, env, opts);
  const channels = configuredChannels(flavour, env, opts);
  if (flavour.style === "conda") {
    const doc = {
      active_prefix: env.CONDA_PREFIX ?? null,
      channels,
      conda_version: flavour.mamba1 ? CONDA_VERSION : flavour.version,
      envs: [],
      envs_dirs: envsDirs(flavour, env, opts),
      pkgs_dirs: pkgsDirs(flavour, env, opts),
      platform: HOST_SUBDIR,
      python_version: "3.11.7.final.0",
      root_prefix: root,
      root_writable: true,
      user_rc_path: path.join(home(env), ".condarc"),
    };
    if (flavour.mamba1) doc.mamba_version = flavour.version;
    return doc;
  }
  return {
    "base environment": root,
    channels,
    "env location": env.CONDA_PREFIX ?? "-",
    "envs directories": envsDirs(flavour, env, opts),
    "libmamba version": flavour.version,
    [`${flavour.face} version`]: flavour.version,
    "package cache": pkgsDirs(flavour, env, opts),
    platform: HOST_SUBDIR,
    "populated config files": [],
    "user config files": [path.join(home(env), ".mambarc")],
    "virtual packages": [`__unix=0=0`, `__linux=0=0`, `__archspec=1=${process.arch}`],
  };
}
