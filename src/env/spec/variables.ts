/**
 * Environment variables an app's env may set (`variables:` in environment.yml or the manifest).
 * Names that would change how the worker, Python, the dynamic loader, pip or the package manager behave,
 * or that carry the app's Hypha identity, are refused.
 */
import { ManifestError } from "../../errors.js";
import { findControlChar, isPlainObject, quoteItem } from "./spec-text.js";

const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const MAX_VARIABLES = 64;
const MAX_VALUE_LENGTH = 4096;

/** Exact names refused (compared upper-cased). */
export const REFUSED_VARIABLE_NAMES: readonly string[] = [
  "PATH", "HOME", "SHELL", "USER", "LOGNAME", "IFS", "ENV", "BASH_ENV", "CDPATH", "TMPDIR",
  "LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT",
  "PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "PYTHONUSERBASE", "PYTHONEXECUTABLE", "PYTHONINSPECT",
  "PYTHONSAFEPATH", "PYTHONPLATLIBDIR", "PYTHONNOUSERSITE",
  "NODE_OPTIONS", "PERL5OPT", "RUBYOPT", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE",
];
/** Name prefixes refused (compared upper-cased). */
export const REFUSED_VARIABLE_PREFIXES: readonly string[] = ["HYPHA_", "LD_", "DYLD_", "CONDA_", "MAMBA_", "PIP_", "_CE_"];

/** Returns why a variable name is refused, or undefined when it may be set. */
export function refusedVariableReason(name: string): string | undefined {
  const upper = name.toUpperCase();
  if (REFUSED_VARIABLE_NAMES.includes(upper)) return "is reserved: it controls the process, the loader or Python";
  const prefix = REFUSED_VARIABLE_PREFIXES.find((p) => upper.startsWith(p));
  if (prefix) return `is reserved: names starting with ${prefix} belong to the worker, the package manager or pip`;
  return undefined;
}

/** Validates `variables:` (a mapping of NAME: value) and returns it with keys sorted. */
export function normalizeVariables(value: unknown, where = "variables"): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) throw new ManifestError(`${where} must be a mapping of NAME: value, not ${quoteItem(value)}`);
  const names = Object.keys(value);
  if (names.length > MAX_VARIABLES) throw new ManifestError(`${where} has ${names.length} entries (more than ${MAX_VARIABLES}); remove some`);
  const out: Record<string, string> = {};
  for (const name of names.sort()) {
    if (!VARIABLE_NAME.test(name) || name.length > 128) {
      throw new ManifestError(`${where} name ${quoteItem(name)} is not a valid variable name; use letters, digits and "_", not starting with a digit`);
    }
    const reason = refusedVariableReason(name);
    if (reason) throw new ManifestError(`${where} name ${quoteItem(name)} ${reason}; rename the variable`);
    const raw = value[name];
    let text: string;
    if (typeof raw === "string") text = raw;
    else if ((typeof raw === "number" && Number.isFinite(raw)) || typeof raw === "boolean") text = String(raw);
    else throw new ManifestError(`${where} value of ${quoteItem(name)} is ${quoteItem(raw)}; write a string (quote it in YAML)`);
    const control = findControlChar(text);
    if (control) throw new ManifestError(`${where} value of ${quoteItem(name)} contains ${control}; write it on one line`);
    if (text.length > MAX_VALUE_LENGTH) throw new ManifestError(`${where} value of ${quoteItem(name)} is longer than ${MAX_VALUE_LENGTH} characters`);
    out[name] = text;
  }
  return out;
}
