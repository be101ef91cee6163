/**
 * Turns a failed create into the tool's own diagnosis: conda's `--json` error document
 * (PackagesNotFoundError, UnsatisfiableError, CondaEnvException "Pip failed", CondaMultiError), libmamba's
 * `{"solver_problems": [...], "success": false}`, or their text when there is no JSON.
 */
import type { ToolRun } from "./run-tool.js";

export type DiagnosisKind = "packages-not-found" | "unsatisfiable" | "pip-failed" | "prefix-conflict" | "failed";

export interface Diagnosis {
  kind: DiagnosisKind;
  /** One paragraph for humans, in the tool's words. */
  summary: string;
  packages?: string[];
  problems?: string[];
  exceptionName?: string;
  /** Last stderr lines (pip's error for a pip failure). */
  stderrTail: string[];
}

/**
 * Finds the last top-level JSON object in `text`: conda may print text before it, and with --json it
 * prints NUL-terminated `{"fetch": ...}` progress records before its final document.
 */
export function lastJsonObject(text: string): Record<string, unknown> | undefined {
  // Only what follows the last record can be the result; records alone mean conda died before writing it.
  return lastJsonObjectIn(text.slice(text.lastIndexOf("\0") + 1));
}

function lastJsonObjectIn(text: string): Record<string, unknown> | undefined {
  const trimmed = text.trim();
  const candidates = [trimmed];
  for (let i = trimmed.lastIndexOf("\n{"); i >= 0; i = trimmed.lastIndexOf("\n{", i - 1)) {
    candidates.push(trimmed.slice(i + 1));
    if (i === 0) break;
  }
  for (const candidate of candidates) {
    if (!candidate.startsWith("{")) continue;
    try {
      const value: unknown = JSON.parse(candidate);
      if (typeof value === "object" && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
    } catch {
      // Not a whole document; try a later start.
    }
  }
  return undefined;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))) : [];
}

/** Solver problems that say nothing about which requirement failed (libmamba ≥ 2.8 in --json). */
export function isUninformativeProblem(problem: string): boolean {
  return /^unsupported request$/i.test(problem.trim());
}

const NOT_FOUND_NAMES = /PackagesNotFound(?:InChannels)?Error/;
const PIP_FAILED = /Pip failed|pip failed to install packages/i;
const NOTHING_PROVIDES = /nothing provides (?:requested )?([^\s,]+)|No match for ([^\s,]+)|package ([^\s,]+) does not exist|[└├]─ ([^\s,]+)[^\n]*? does not exist/i;

/** Returns the diagnosis of a failed run. */
export function diagnoseFailure(run: Pick<ToolRun, "stdout" | "stderrTail" | "exitCode">): Diagnosis {
  const stderrTail = run.stderrTail.slice(-30);
  // conda reports some failures (CondaSystemExit) as a JSON document on stderr.
  const json = lastJsonObject(run.stdout) ?? lastJsonObject(stderrTail.join("\n"));
  const text = `${run.stdout}\n${stderrTail.join("\n")}`;
  const exceptionName = typeof json?.exception_name === "string" ? json.exception_name : undefined;
  const message = multiErrorSummary(json) ?? (typeof json?.message === "string" ? json.message.trim() : typeof json?.error === "string" ? json.error.trim() : undefined);
  // conda ≤ 26.5 says PackagesNotFoundError; 26.7 PackagesNotFoundInChannelsError (same fields).
  const notFound = exceptionName !== undefined && NOT_FOUND_NAMES.test(exceptionName) ? exceptionName : NOT_FOUND_NAMES.exec(text)?.[0];
  if (notFound) {
    const packages = json ? strings(json.packages) : textualMissing(text);
    return { kind: "packages-not-found", exceptionName: notFound, packages, summary: message ?? exceptionBlock(text, notFound) ?? `packages not found: ${packages.join(", ")}`, stderrTail };
  }
  if (exceptionName === "UnsatisfiableError" || /UnsatisfiableError/.test(text)) {
    const problems = json ? strings(json.unsatisfiable) : [];
    return { kind: "unsatisfiable", exceptionName: "UnsatisfiableError", problems, summary: message ?? exceptionBlock(text, "UnsatisfiableError") ?? "the requested packages cannot be installed together", stderrTail };
  }
  if (PIP_FAILED.test(message ?? "") || PIP_FAILED.test(text)) {
    const pipLines = stderrTail.filter((l) => l.trim() && !PIP_FAILED.test(l)).slice(-10);
    return { kind: "pip-failed", ...(exceptionName ? { exceptionName } : {}), summary: `pip failed to install the pip: packages${pipLines.length ? `:\n${pipLines.join("\n")}` : ""}`, stderrTail };
  }
  // libmamba 2.8's "unsupported request" names nothing; the text (see explain-failure.ts) may.
  const problems = (json ? strings(json.solver_problems) : []).filter((p) => !isUninformativeProblem(p));
  if (problems.length > 0) {
    const missing = problems.map((p) => NOTHING_PROVIDES.exec(p)).filter((m): m is RegExpExecArray => m !== null).map((m) => (m[1] ?? m[2] ?? m[3] ?? m[4])!);
    if (missing.length === problems.length) return { kind: "packages-not-found", packages: missing, problems, summary: problems.join("\n"), stderrTail };
    return { kind: "unsatisfiable", problems, summary: problems.join("\n"), stderrTail };
  }
  if (/Non-conda folder exists at prefix/i.test(text)) {
    return { kind: "prefix-conflict", summary: "a non-conda folder exists at the prefix", stderrTail };
  }
  const missing = textualMissing(text);
  if (missing.length > 0) return { kind: "packages-not-found", packages: missing, summary: `packages not found: ${missing.join(", ")}`, stderrTail };
  // conda's plain "ERROR: ..." lines (e.g. a corrupt package tarball) say more than its CondaSystemExit.
  const errorLines = text.split("\n").filter((l) => /^ERROR:/.test(l.trim())).map((l) => l.trim());
  if (errorLines.length > 0) return { kind: "failed", ...(exceptionName ? { exceptionName } : {}), summary: errorLines.slice(-5).join("\n"), stderrTail };
  const fallback = message ?? (stderrTail.filter((l) => l.trim()).slice(-5).join("\n") || `exit code ${run.exitCode ?? "unknown"}`);
  return { kind: "failed", ...(exceptionName ? { exceptionName } : {}), summary: fallback, stderrTail };
}

/**
 * conda's CondaMultiError says only "Multiple Errors Encountered." at the top; its `errors` list holds the
 * real ones (measured on 26.7.1 under the cold-cache race: hundreds of SafetyError / CondaVerificationError).
 * Returns one line per distinct exception: its count and the first message's opening lines.
 */
function multiErrorSummary(json: Record<string, unknown> | undefined): string | undefined {
  if (!Array.isArray(json?.errors) || json.errors.length === 0) return undefined;
  const byName = new Map<string, { count: number; first: string }>();
  for (const item of json.errors as unknown[]) {
    if (typeof item !== "object" || item === null) continue;
    const { exception_name: name, message } = item as Record<string, unknown>;
    const key = typeof name === "string" ? name : "error";
    const entry = byName.get(key) ?? { count: 0, first: typeof message === "string" ? message.trim().split("\n").slice(0, 3).join(" ") : "" };
    byName.set(key, { ...entry, count: entry.count + 1 });
  }
  if (byName.size === 0) return undefined;
  const lines = [...byName].slice(0, 5).map(([name, { count, first }]) => `${name}${count > 1 ? ` (×${count})` : ""}: ${first}`);
  return `${json.errors.length} errors:\n${lines.join("\n")}`;
}

function textualMissing(text: string): string[] {
  const found = new Set<string>();
  let inList = false;
  for (const line of text.split("\n")) {
    const m = NOTHING_PROVIDES.exec(line);
    if (m) found.add((m[1] ?? m[2] ?? m[3] ?? m[4])!);
    // conda's text: "not available from current channels:" then "  - name" lines, until "Current channels:".
    if (/not available from current channels/i.test(line)) inList = true;
    else if (/^\S/.test(line)) inList = false;
    const listed = inList ? /^\s+-\s+(\S+)\s*$/.exec(line) : null;
    if (listed) found.add(listed[1]!);
  }
  return [...found];
}

/** The tool's own text from the exception's first line to the next blank line pair (at most 20 lines). */
function exceptionBlock(text: string, name: string): string | undefined {
  const start = text.indexOf(`${name}:`);
  if (start < 0) return undefined;
  const block = text.slice(start).split(/\n\s*\n\s*\n/)[0] ?? "";
  return block.split("\n").slice(0, 20).join("\n").trim() || undefined;
}
