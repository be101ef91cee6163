/**
 * Per-session working directories: `<root>/<workspace>/<session>-<random>`, private (0700), created at
 * start and removed at stop. Names are sanitised so a session id such as "ws/client" cannot reach outside.
 */
import { randomBytes } from "node:crypto";
import { mkdir, realpath, rm } from "node:fs/promises";
import path from "node:path";
import { SessionError, describeError } from "../errors.js";

/** Turns an id into one safe path segment (letters, digits, `.`, `_`, `-`; never `.` or `..`). */
export function safeSegment(id: string): string {
  const cleaned = id.replace(/[^A-Za-z0-9._-]/g, "_").replace(/^\.+/, "_").slice(0, 80);
  return cleaned.length > 0 ? cleaned : "_";
}

/** The directory holding a workspace's sessions (prepare_workspace creates it). */
export function workspaceDir(root: string, workspace: string): string {
  return path.join(path.resolve(root), safeSegment(workspace));
}

/** Creates the workspace directory if needed; idempotent. */
export async function prepareWorkspaceDir(root: string, workspace: string): Promise<string> {
  const dir = workspaceDir(root, workspace);
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
  } catch (error) {
    throw new SessionError("E_SESSION", `Could not create the working directory ${dir}: ${describeError(error)}. Check --working-dir points to a writable folder.`, { cause: error });
  }
  return dir;
}

/** Creates a fresh, empty, private directory for one session and returns its real path. */
export async function createWorkingDir(root: string, workspace: string, sessionId: string): Promise<string> {
  const parent = await prepareWorkspaceDir(root, workspace);
  const dir = path.join(parent, `${safeSegment(sessionId)}-${randomBytes(4).toString("hex")}`);
  try {
    await mkdir(dir, { mode: 0o700 });
    return await realpath(dir);
  } catch (error) {
    throw new SessionError("E_SESSION", `Could not create the session directory ${dir}: ${describeError(error)}. Check --working-dir points to a writable folder.`, { cause: error });
  }
}

/** Removes a session directory; refuses anything that is not strictly inside `root`. */
export async function removeWorkingDir(root: string, dir: string): Promise<void> {
  const resolvedRoot = path.resolve(root);
  const resolved = path.resolve(dir);
  const relative = path.relative(resolvedRoot, resolved);
  let realRoot = resolvedRoot;
  try {
    realRoot = await realpath(resolvedRoot);
  } catch {
    // The root is gone already: nothing of ours can remain.
  }
  const realRelative = path.relative(realRoot, resolved);
  const inside = (rel: string) => rel !== "" && !rel.startsWith("..") && !path.isAbsolute(rel);
  if (!inside(relative) && !inside(realRelative)) {
    throw new SessionError("E_PATH_ESCAPE", `Refusing to remove ${dir}: it is not inside the working root ${root}.`);
  }
  await rm(resolved, { recursive: true, force: true, maxRetries: 3 });
}
