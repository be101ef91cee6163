/**
 * Pip requirements of the `pip:` section: PEP 508 subset, validated and written one canonical way:
 * `name[extra1,extra2]<spec>,<spec>; <marker>` with the name normalised per PEP 503 (lower case, runs of
 * "-", "_", "." → "-"), extras sorted, specifier clauses sorted (they are an AND set), marker tokens
 * single-spaced with double-quoted strings. URLs, direct references and pip options (`-i`, `--index-url`,
 * `-e`, `--find-links`...) need the operator's --allow-pip-options. "$" is refused everywhere because pip
 * expands ${VARS} in requirement files, which would leak the worker's environment.
 */
import { ManifestError } from "../../errors.js";
import { quoteItem, requireCleanString } from "./spec-text.js";

const PIP_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;
const SPECIFIER = /^(~=|===|==|!=|<=|>=|<|>)([A-Za-z0-9._*+!-]+)$/;
const MARKER_VARIABLES = new Set([
  "python_version", "python_full_version", "os_name", "sys_platform", "platform_release", "platform_system",
  "platform_version", "platform_machine", "platform_python_implementation", "implementation_name",
  "implementation_version", "extra",
]);
const URL_VALUE = /^[A-Za-z0-9._~:/?#@!&+,=%-]+$/;
const REFUSED_OPTIONS = new Set(["-r", "--requirement", "-c", "--constraint"]);
const OPTION_ALIASES: Record<string, string> = { "-i": "--index-url", "-f": "--find-links", "-e": "--editable" };

function pipError(value: unknown, reason: string): ManifestError {
  return new ManifestError(`pip requirement ${quoteItem(value)} ${reason}`);
}

/** PEP 503 name normalisation. */
export function normalizePipName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

function checkUrl(value: unknown, url: string): string {
  if (!URL_VALUE.test(url)) throw pipError(value, `contains characters a URL here cannot contain (quotes, spaces, "$", ";"...); percent-encode them`);
  const schemeless = url.replace(/^[a-z]+\+/, "");
  try {
    const parsed = new URL(schemeless);
    if (parsed.username || parsed.password) throw pipError(value, "contains credentials in its URL; put them in pip.conf or .netrc on the worker instead");
  } catch (error) {
    if (error instanceof ManifestError) throw error;
  }
  return url;
}

function normalizeOption(value: unknown, text: string, allowOptions: boolean): string {
  if (!allowOptions) {
    throw pipError(value, "is a pip option; options such as --index-url, -e or --find-links are refused unless the operator starts the worker with --allow-pip-options");
  }
  const match = /^(-[A-Za-z]|--[a-z][a-z0-9-]*)(?:(?:\s+|=)(\S+))?$/.exec(text);
  if (!match) throw pipError(value, 'is not a single pip option; write it as "--option value"');
  const option = OPTION_ALIASES[match[1]!] ?? match[1]!;
  if (REFUSED_OPTIONS.has(option)) throw pipError(value, "refers to another requirements file, which the worker cannot stage; list the requirements instead");
  return match[2] === undefined ? option : `${option} ${checkUrl(value, match[2])}`;
}

/** Tokenises and validates a PEP 508 environment marker, returning it single-spaced. */
function normalizeMarker(value: unknown, marker: string): string {
  const tokens: string[] = [];
  const re = /\s*(?:(\(|\))|(===|==|!=|<=|>=|~=|<|>)|"([^"'`$\\]*)"|'([^"'`$\\]*)'|([A-Za-z_][A-Za-z0-9_]*))/y;
  let pos = 0;
  while (pos < marker.length) {
    if (/^\s*$/.test(marker.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(marker);
    if (!m) throw pipError(value, `has an invalid environment marker near ${quoteItem(marker.slice(pos, pos + 20))}; write e.g. '; python_version >= "3.9"'`);
    pos = re.lastIndex;
    if (m[3] !== undefined || m[4] !== undefined) tokens.push(`"${m[3] ?? m[4]}"`);
    else tokens.push(m[1] ?? m[2] ?? m[5]!);
  }
  let i = 0;
  const isValue = (t: string | undefined) => t !== undefined && (t.startsWith('"') || MARKER_VARIABLES.has(t));
  const fail = () => pipError(value, `has an invalid environment marker ${quoteItem(marker.trim())}; use variables like python_version, sys_platform with quoted values, joined by and/or`);
  const parseAtom = (): void => {
    if (tokens[i] === "(") {
      i++;
      parseExpr();
      if (tokens[i++] !== ")") throw fail();
      return;
    }
    if (!isValue(tokens[i++])) throw fail();
    const op = tokens[i++];
    if (op === "not") {
      if (tokens[i++] !== "in") throw fail();
    } else if (op === undefined || !/^(?:===|==|!=|<=|>=|~=|<|>|in)$/.test(op)) throw fail();
    if (!isValue(tokens[i++])) throw fail();
  };
  const parseExpr = (): void => {
    parseAtom();
    while (tokens[i] === "and" || tokens[i] === "or") {
      i++;
      parseAtom();
    }
  };
  parseExpr();
  if (i !== tokens.length) throw fail();
  return tokens.join(" ").replace(/\( /g, "(").replace(/ \)/g, ")");
}

/** Validates one pip requirement line and returns its canonical spelling. */
export function normalizePipRequirement(value: unknown, allowOptions: boolean): string {
  const text = requireCleanString(value, "pip requirement", 'write a requirement such as "requests>=2.31"');
  if (text.includes("$")) throw pipError(value, 'contains "$"; pip expands ${VARIABLES} in requirement files, so "$" is refused');
  if (text.startsWith("-")) return normalizeOption(value, text, allowOptions);
  const urlLike = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) || /^[a-z]+\+[a-z]+:/i.test(text);
  if (urlLike || text.startsWith(".") || text.startsWith("/") || text.startsWith("~")) {
    if (!allowOptions || !urlLike) {
      throw pipError(value, urlLike
        ? "is a URL; URL requirements are refused unless the operator starts the worker with --allow-pip-options"
        : "is a local path; the worker cannot install from paths, publish the package or use a name from an index");
    }
    return checkUrl(value, text);
  }
  const semi = text.indexOf(";");
  const head = (semi >= 0 ? text.slice(0, semi) : text).trim();
  const marker = semi >= 0 ? normalizeMarker(value, text.slice(semi + 1)) : undefined;
  if (semi >= 0 && marker === "") throw pipError(value, 'has an empty marker after ";"; remove the ";" or write a marker');
  const m = /^([^\s[\]<>=!~,;@()]+)\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(head);
  if (!m || !PIP_NAME.test(m[1]!)) {
    throw pipError(value, 'does not start with a valid package name (letters, digits, "-", "_", "."); write e.g. "requests>=2.31"');
  }
  const name = normalizePipName(m[1]!);
  let extras = "";
  if (m[2] !== undefined) {
    const list = m[2].split(",").map((e) => e.trim());
    if (list.some((e) => !PIP_NAME.test(e))) throw pipError(value, 'has invalid extras; write them as name[extra1,extra2]');
    extras = `[${[...new Set(list.map(normalizePipName))].sort().join(",")}]`;
  }
  const rest = m[3]!.trim();
  let tail = "";
  if (rest.startsWith("@")) {
    if (!allowOptions) throw pipError(value, "is a direct URL reference; these are refused unless the operator starts the worker with --allow-pip-options");
    const url = rest.slice(1).trim();
    if (!url || /\s/.test(url)) throw pipError(value, 'has an invalid direct reference; write "name @ https://host/file.whl"');
    tail = ` @ ${checkUrl(value, url)}`;
    if (marker) tail += " ";
  } else if (rest !== "") {
    if (/[()]/.test(rest)) throw pipError(value, 'uses parentheses around its version; write "name>=1.0" without them');
    const clauses = rest.split(",").map((c) => c.replace(/\s+/g, ""));
    for (const clause of clauses) {
      if (!SPECIFIER.test(clause)) throw pipError(value, `has an invalid version specifier ${quoteItem(clause)}; use ~= == != <= >= < > === followed by a version`);
    }
    tail = [...new Set(clauses)].sort().join(",");
  }
  return `${name}${extras}${tail}${marker ? `; ${marker}` : ""}`;
}
