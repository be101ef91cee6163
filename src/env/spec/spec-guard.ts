/**
 * A last structural check of an EnvSpec at the door of ensure-env. Specs normally come from buildEnvSpec
 * (which validates every item); a library caller may hand one in directly, and its items end up in a file
 * the package manager reads, in directory names and in the activation environment.
 */
import { EnvError } from "../../errors.js";
import type { EnvSpec } from "../types.js";
import { refusedVariableReason } from "./variables.js";

const MAX_ITEM = 500;
const MAX_ITEMS = 512;
const CONTROL = /[\0-\x1f\x7f]/;

function fail(what: string, reason: string): never {
  throw new EnvError("E_SPEC", `environment spec ${what} ${reason}; build specs with buildEnvSpec() or resolveEnvSpec(), which validate and normalise them`);
}

function checkList(value: unknown, what: string, allowDash: boolean): void {
  if (!Array.isArray(value)) fail(what, "must be an array of strings");
  if (value.length > MAX_ITEMS) fail(what, `has more than ${MAX_ITEMS} items`);
  for (const item of value) {
    if (typeof item !== "string" || item.trim() === "") fail(what, `has a non-string or empty item ${JSON.stringify(item)}`);
    if (item.length > MAX_ITEM) fail(what, `has an item longer than ${MAX_ITEM} characters`);
    if (CONTROL.test(item)) fail(what, `item ${JSON.stringify(item)} contains a control character`);
    if (!allowDash && item.startsWith("-")) fail(what, `item ${JSON.stringify(item)} starts with "-"`);
  }
}

/** Throws E_SPEC unless `spec` has the shape ensure-env relies on. */
export function assertEnvSpecShape(spec: EnvSpec): void {
  if (typeof spec !== "object" || spec === null) fail("", "must be an object");
  if (!Number.isInteger(spec.schema) || spec.schema < 1) fail("schema", "must be a positive integer");
  checkList(spec.channels, "channels", false);
  if (spec.channels.length === 0) fail("channels", "must name at least one channel");
  checkList(spec.conda, "conda", false);
  // Pip options are policy-checked by buildEnvSpec; here only the shape matters.
  checkList(spec.pip, "pip", true);
  if (typeof spec.subdir !== "string" || !/^[a-z0-9]+-[a-z0-9_]+$|^noarch$/.test(spec.subdir)) fail("subdir", `${JSON.stringify(spec.subdir)} is not a conda platform subdir such as linux-64`);
  const vars = spec.variables;
  if (typeof vars !== "object" || vars === null || Array.isArray(vars)) fail("variables", "must be a mapping of NAME: value");
  for (const [name, value] of Object.entries(vars)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) fail("variables", `name ${JSON.stringify(name)} is not a valid variable name`);
    const refused = refusedVariableReason(name);
    if (refused) fail("variables", `name ${name} ${refused}`);
    if (typeof value !== "string" || value.includes("\0")) fail("variables", `value of ${name} must be a string without NUL`);
  }
}
