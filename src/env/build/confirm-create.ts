/**
 * An exit code of 0 is not success (measured on conda 26.7.1: a create racing on a cold package cache exited
 * 0 without creating the env). Success is the tool's own JSON saying so and a prefix that is a conda env.
 */
import { promises as fs } from "node:fs";
import path from "node:path";
import { lastJsonObject } from "./package-manager/diagnose.js";
import type { ToolFace } from "./package-manager/faces.js";
import type { ToolRun } from "./package-manager/run-tool.js";

/** Returns why a create that exited 0 did not make the env, or undefined when it did. */
export async function findUnconfirmedCreate(run: Pick<ToolRun, "stdout">, prefix: string, face: Pick<ToolFace, "json">): Promise<string | undefined> {
  if (face.json) {
    const doc = lastJsonObject(run.stdout);
    if (doc === undefined) return "it printed no JSON result";
    if (doc.success !== true) return `its JSON result does not say success${typeof doc.exception_name === "string" ? ` (${doc.exception_name})` : ""}`;
  }
  try {
    await fs.access(path.join(prefix, "conda-meta", "history"));
  } catch {
    return `the prefix has no conda-meta/history`;
  }
  return undefined;
}
