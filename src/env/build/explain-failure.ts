/**
 * libmamba ≥ 2.8 answers a missing package in --json with only `{"solver_problems": ["unsupported request"]}`;
 * its readable reason ("└─ nosuchpkg =* * does not exist") is printed only without --json. The worker then
 * asks again, as a dry run without --json, so the user's error can name the package.
 */
import { isUninformativeProblem, lastJsonObject } from "./package-manager/diagnose.js";
import { runTool, type ToolRun } from "./package-manager/run-tool.js";
import type { ToolCommand } from "./package-manager/argv.js";

/** Returns `run` with the tool's readable explanation appended to its stderr tail when its JSON had none. */
export async function explainTerseFailure(command: ToolCommand, run: ToolRun, options: { timeoutMs: number; cwd?: string; signal?: AbortSignal }): Promise<ToolRun> {
  if (run.exitCode === 0 || run.exitCode === undefined) return run;
  const problems = lastJsonObject(run.stdout)?.solver_problems;
  if (!Array.isArray(problems) || problems.length === 0 || !problems.every((p) => typeof p === "string" && isUninformativeProblem(p))) return run;
  const args = command.args.filter((a) => a !== "--json");
  // A lock's solve is already a dry run: the flag is given once.
  if (!args.includes("--dry-run")) args.push("--dry-run");
  const again = await runTool({ ...command, args }, options);
  const explanation = `${again.stdout}\n${again.stderrTail.join("\n")}`.split("\n").filter((l) => l.trim());
  return { ...run, stderrTail: [...run.stderrTail, ...explanation.slice(-40)] };
}
