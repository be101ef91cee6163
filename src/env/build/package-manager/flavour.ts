/** Which command-line family a detected tool belongs to (reference/conda-family.md). */
import type { PackageManagerInfo } from "../../types.js";

/** How a tool is driven: conda's CLI (conda, mamba 1.x) or libmamba's (micromamba, mamba 2). */
export type Flavour = "conda" | "mamba1" | "libmamba";

export function flavourOf(info: PackageManagerInfo): Flavour {
  if (info.name === "conda") return "conda";
  if (info.name === "mamba" && majorOf(info.version) < 2) return "mamba1";
  return "libmamba";
}

export function majorOf(version: string): number {
  return Number.parseInt(version.split(".")[0] ?? "", 10);
}

