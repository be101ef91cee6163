/**
 * Staging: copying the entry point and the manifest's `files_to_stage` from an AppFileSource into the
 * session's working directory. Entries: "f" (a file), "dir/" (a folder, recursively), "src:dst" (a file,
 * renamed), "dir/:dst/" (a folder, moved). Every destination is confined to the working directory: all
 * entries are checked before anything is written, and writes never follow a symlink.
 */
import { constants } from "node:fs";
import { lstat, mkdir, open } from "node:fs/promises";
import path from "node:path";
import { SessionError } from "../errors.js";
import { checkRelativePath } from "./app-files.js";
import type { AppFileSource } from "./types.js";

export interface StageEntry {
  /** Source path in the app ("dir/" for a folder). */
  source: string;
  /** Destination inside the working dir ("dst/" for a folder). */
  destination: string;
  folder: boolean;
}

export interface StagingLimits {
  maxFiles: number;
  maxTotalBytes: number;
  maxDepth: number;
}

export const DEFAULT_STAGING_LIMITS: StagingLimits = { maxFiles: 10_000, maxTotalBytes: 1024 * 1024 * 1024, maxDepth: 32 };

export interface StagedFile {
  source: string;
  destination: string;
  bytes: number;
}

/** Parses one files_to_stage entry; throws on anything that could leave the working directory. */
export function parseStageEntry(entry: unknown): StageEntry {
  if (typeof entry !== "string") {
    throw new SessionError("E_PATH_ESCAPE", `files_to_stage entries must be strings, got ${JSON.stringify(entry)}. Use "file", "dir/", "src:dst" or "dir/:dst/".`);
  }
  const parts = entry.split(":");
  if (parts.length > 2) {
    throw new SessionError("E_PATH_ESCAPE", `files_to_stage entry ${JSON.stringify(entry)} has more than one ":". Use "src:dst" with exactly one.`);
  }
  const source = parts[0]!;
  let destination = parts[1] ?? source;
  const folder = source.endsWith("/");
  checkRelativePath(source, "files_to_stage source");
  checkRelativePath(destination, "files_to_stage destination");
  if (folder && !destination.endsWith("/")) destination = `${destination}/`;
  // A file staged to "dst/" keeps its name inside that folder.
  if (!folder && destination.endsWith("/")) destination = `${destination}${path.posix.basename(source)}`;
  return { source, destination, folder };
}

export interface StageOptions {
  source: AppFileSource;
  workDir: string;
  entryPoint: string;
  filesToStage: readonly unknown[];
  limits?: Partial<StagingLimits>;
}

/** Stages the entry point and every files_to_stage entry; returns what was written. */
export async function stageAppFiles(options: StageOptions): Promise<StagedFile[]> {
  const limits = { ...DEFAULT_STAGING_LIMITS, ...options.limits };
  checkRelativePath(options.entryPoint, "entry point");
  const entries = options.filesToStage.map(parseStageEntry);
  const staged: StagedFile[] = [];
  let totalBytes = 0;
  const writeOne = async (source: string, destination: string) => {
    const data = await options.source.readFile(source);
    if (data === undefined) return false;
    if (staged.length + 1 > limits.maxFiles) {
      throw new SessionError("E_APP_FILES", `Staging stopped at ${limits.maxFiles} files. Stage fewer files or raise the limit.`);
    }
    totalBytes += data.byteLength;
    if (totalBytes > limits.maxTotalBytes) {
      throw new SessionError("E_APP_FILES", `Staged files exceed ${limits.maxTotalBytes} bytes in total. Stage fewer files or raise the limit.`);
    }
    await writeConfined(options.workDir, destination, data);
    staged.push({ source, destination, bytes: data.byteLength });
    return true;
  };
  if (!(await writeOne(options.entryPoint, options.entryPoint))) {
    throw new SessionError("E_APP_FILES", `The entry point ${JSON.stringify(options.entryPoint)} is not among the app's files. Upload it or fix entry_point in the manifest.`);
  }
  for (const entry of entries) {
    if (entry.folder) {
      await stageFolder(options.source, entry.source, entry.destination, 0, limits, writeOne);
    } else if (!(await writeOne(entry.source, entry.destination))) {
      throw new SessionError("E_APP_FILES", `files_to_stage names ${JSON.stringify(entry.source)}, which is not among the app's files. Upload it or remove it from files_to_stage.`);
    }
  }
  return staged;
}

async function stageFolder(
  source: AppFileSource,
  folder: string,
  destination: string,
  depth: number,
  limits: StagingLimits,
  writeOne: (source: string, destination: string) => Promise<boolean>,
): Promise<void> {
  if (depth > limits.maxDepth) {
    throw new SessionError("E_APP_FILES", `Folder ${JSON.stringify(folder)} is nested deeper than ${limits.maxDepth} levels. Flatten it or stage a sub-folder.`);
  }
  for (const item of await source.listFolder(folder)) {
    checkRelativePath(item.name, "listed file name");
    if (item.name.includes("/")) throw new SessionError("E_PATH_ESCAPE", `Refusing listed name ${JSON.stringify(item.name)} in ${JSON.stringify(folder)}.`);
    if (item.type === "directory") {
      await stageFolder(source, `${folder}${item.name}/`, `${destination}${item.name}/`, depth + 1, limits, writeOne);
    } else if (!(await writeOne(`${folder}${item.name}`, `${destination}${item.name}`))) {
      throw new SessionError("E_APP_FILES", `${JSON.stringify(`${folder}${item.name}`)} was listed but could not be read. Retry the start; if it persists, re-upload the app.`);
    }
  }
}

/** Writes `data` at `relPath` under `root`, creating folders; refuses symlinks and anything outside. */
export async function writeConfined(root: string, relPath: string, data: Buffer): Promise<void> {
  const segments = checkRelativePath(relPath, "staging destination");
  let current = root;
  for (const segment of segments.slice(0, -1)) {
    current = path.join(current, segment);
    const info = await lstat(current).catch(() => undefined);
    if (info === undefined) await mkdir(current, { mode: 0o755 });
    else if (!info.isDirectory() || info.isSymbolicLink()) {
      throw new SessionError("E_PATH_ESCAPE", `Refusing to stage ${JSON.stringify(relPath)}: ${JSON.stringify(path.relative(root, current))} is not a plain folder.`);
    }
  }
  const target = path.join(current, segments[segments.length - 1]!);
  const relative = path.relative(root, target);
  if (relative.startsWith("..") || path.isAbsolute(relative)) {
    throw new SessionError("E_PATH_ESCAPE", `Refusing to stage ${JSON.stringify(relPath)}: it resolves outside the working directory.`);
  }
  let handle;
  try {
    // O_NOFOLLOW: a symlink planted at the destination is an error, never followed.
    handle = await open(target, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  } catch (error) {
    throw new SessionError("E_PATH_ESCAPE", `Refusing to stage ${JSON.stringify(relPath)}: the destination cannot be written as a plain file (${(error as NodeJS.ErrnoException).code ?? "error"}).`, { cause: error });
  }
  try {
    await handle.writeFile(data);
  } finally {
    await handle.close();
  }
}
