/**
 * What differs by tool and version, as one table per flavour and version range (reference/conda-family.md,
 * including "Newer releases, measured 2026-12"). A detected tool maps to exactly one row; the next release
 * that changes behaviour is one more row, not a hunt through the code.
 */
import type { PackageManagerInfo } from "../../types.js";
import { flavourOf, type Flavour } from "./flavour.js";

/** How the solve is kept to the spec's channels (nothing from a .condarc `channels` list or `defaults`). */
export type ChannelMode =
  /** `nodefaults` in the environment.yml: conda's env installers (23.7–26.5) strip it and add no other channel. */
  | "nodefaults-in-file"
  /** `--override-channels -c <each channel>`: the create path (conda ≥ 26.7) resolves `nodefaults` as a channel name. */
  | "override-channels"
  /** libmamba adds nothing when the command line or the file names channels (the worker always names them). */
  | "file-only";

export interface ToolFace {
  /** Human label of the row, for doctor and errors. */
  label: string;
  flavour: Flavour;
  /** Subcommand words before `-p`. */
  createCommand: readonly string[];
  channelMode: ChannelMode;
  /** Whether the create prints a JSON result document (`--json`). */
  json: boolean;
  /** Settings the worker owns, as the tool's own variables; everything else of the operator's config is honoured. */
  ownedSettings: (pkgsDir: string, mambaRootDir: string) => Record<string, string>;
  /** Whether creates sharing one package cache may run at once (measured: conda corrupts a cold cache). */
  parallelCreatesSafe: boolean;
  /**
   * Where a `create --dry-run --json` names each package's URL and checksums: conda's `actions.FETCH`
   * (full records, only for packages not yet in the package cache; `LINK` has no URL), or libmamba's
   * `actions.LINK` (full records with url, md5, sha256).
   */
  dryRunRecords: "conda-fetch" | "libmamba-link";
  /** Subcommand words of a create from an `@EXPLICIT` package list given with `--file` (no solve). */
  explicitCreateCommand: readonly string[];
}

const condaSettings = (pkgsDir: string): Record<string, string> => ({
  // conda ≥ 26 merges CONDA_PKGS_DIRS with a .condarc list; the first entry is the one it writes to.
  CONDA_PKGS_DIRS: pkgsDir,
  // Keeps ~/.conda/environments.txt free of the worker's envs without hiding the operator's home.
  CONDA_REGISTER_ENVS: "false",
});

const libmambaSettings = (pkgsDir: string, mambaRootDir: string): Record<string, string> => ({
  // libmamba's pkgs_dirs reads CONDA_PKGS_DIRS; MAMBA_PKGS_DIRS is set too so an operator's value cannot mislead.
  CONDA_PKGS_DIRS: pkgsDir,
  MAMBA_PKGS_DIRS: pkgsDir,
  MAMBA_ROOT_PREFIX: mambaRootDir,
  MAMBA_REGISTER_ENVS: "false",
});

/** conda 26.7.0 made `env create` an alias of `create` (conda PR 16210). */
const CONDA_CREATE_ALIAS = [26, 7] as const;

/** The rows, first match wins. */
const FACES: ReadonlyArray<{ matches: (pm: PackageManagerInfo) => boolean; face: ToolFace }> = [
  {
    matches: (pm) => pm.name === "conda" && !isOlder(pm.version, CONDA_CREATE_ALIAS),
    face: { label: "conda ≥ 26.7", flavour: "conda", createCommand: ["create"], channelMode: "override-channels", json: true, ownedSettings: condaSettings, parallelCreatesSafe: false, dryRunRecords: "conda-fetch", explicitCreateCommand: ["create"] },
  },
  {
    matches: (pm) => pm.name === "conda",
    face: { label: "conda 23.7–26.5", flavour: "conda", createCommand: ["env", "create"], channelMode: "nodefaults-in-file", json: true, ownedSettings: condaSettings, parallelCreatesSafe: false, dryRunRecords: "conda-fetch", explicitCreateCommand: ["create"] },
  },
  {
    // mamba 1.x is a Python wrapper whose `env create` is the wrapped conda's; the reference reads its text, not JSON.
    matches: (pm) => flavourOf(pm) === "mamba1" && pm.condaVersion !== undefined && !isOlder(pm.condaVersion, CONDA_CREATE_ALIAS),
    face: { label: "mamba 1.x on conda ≥ 26.7", flavour: "mamba1", createCommand: ["env", "create"], channelMode: "override-channels", json: false, ownedSettings: condaSettings, parallelCreatesSafe: false, dryRunRecords: "conda-fetch", explicitCreateCommand: ["create"] },
  },
  {
    matches: (pm) => flavourOf(pm) === "mamba1",
    face: { label: "mamba 1.x", flavour: "mamba1", createCommand: ["env", "create"], channelMode: "nodefaults-in-file", json: false, ownedSettings: condaSettings, parallelCreatesSafe: false, dryRunRecords: "conda-fetch", explicitCreateCommand: ["create"] },
  },
  {
    // micromamba 1.5/2.x and mamba 2.x share libmamba's CLI; libmamba locks its package cache.
    matches: () => true,
    face: { label: "libmamba (micromamba, mamba 2)", flavour: "libmamba", createCommand: ["create"], channelMode: "file-only", json: true, ownedSettings: libmambaSettings, parallelCreatesSafe: true, dryRunRecords: "libmamba-link", explicitCreateCommand: ["create"] },
  },
];

/** Returns the row for a detected tool. */
export function faceOf(pm: PackageManagerInfo): ToolFace {
  return FACES.find((row) => row.matches(pm))!.face;
}

function isOlder(version: string, [wantMajor, wantMinor]: readonly [number, number]): boolean {
  const [major = 0, minor = 0] = version.split(".").map((p) => Number.parseInt(p, 10));
  return major < wantMajor || (major === wantMajor && minor < wantMinor);
}
