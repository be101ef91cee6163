// Conda match specs as the fake package managers understand them: `name`, `name>=1.0`, `name >=1.0`,
// `name=1.0` (fuzzy: 1.0.*), `name==1.0`, `name 1.0.*`, `name=1.0=build*`, `name 1.0 build`,
// `channel::name...`, and `<`, `<=`, `>`, `!=`, `~=`, `,` (and), `|` (or) combinations.

export class SpecSyntaxError extends Error {}

const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.+-]*$/;

/** Parses one match spec string into {raw, channel, name, version, build}. */
export function parseMatchSpec(raw) {
  let text = String(raw).trim();
  if (!text) throw new SpecSyntaxError(`empty match spec`);
  let channel;
  const sep = text.lastIndexOf("::");
  if (sep >= 0) {
    channel = text.slice(0, sep);
    text = text.slice(sep + 2);
  }
  let name;
  let version;
  let build;
  const spaced = text.split(/\s+/);
  if (spaced.length > 1 && NAME_RE.test(spaced[0]) && /^[<>=!~]/.test(spaced[1])) {
    name = spaced[0];
    version = spaced.slice(1).join("");
  } else if (spaced.length > 1 && NAME_RE.test(spaced[0])) {
    name = spaced[0];
    version = spaced[1];
    build = spaced[2];
    if (spaced.length > 3) throw new SpecSyntaxError(`invalid match spec: ${raw}`);
  } else {
    const m = /^([A-Za-z0-9_][A-Za-z0-9_.+-]*?)([<>=!~].*)?$/.exec(text.replace(/\s+/g, ""));
    if (!m) throw new SpecSyntaxError(`invalid match spec: ${raw}`);
    name = m[1];
    const rest = m[2];
    if (rest) {
      if (rest.startsWith("=") && !rest.startsWith("==")) {
        // `=1.0` and `=1.0=build`: the conda command-line fuzzy form.
        const parts = rest.slice(1).split("=");
        if (parts.length > 2 || !parts[0]) throw new SpecSyntaxError(`invalid match spec: ${raw}`);
        version = parts[0].endsWith("*") ? parts[0] : `${parts[0]}.*`;
        build = parts[1];
      } else {
        version = rest;
      }
    }
  }
  if (!NAME_RE.test(name)) throw new SpecSyntaxError(`invalid package name in match spec: ${raw}`);
  const spec = { raw: String(raw).trim(), channel, name: name.toLowerCase(), version, build };
  if (version !== undefined) compileVersion(version, raw);
  return spec;
}

/** True when a repodata record satisfies the spec (channel is checked by the caller). */
export function recordMatches(spec, record) {
  if (spec.name !== record.name) return false;
  if (spec.version !== undefined && !compileVersion(spec.version, spec.raw)(record.version)) return false;
  if (spec.build !== undefined && !globMatch(spec.build, record.build)) return false;
  return true;
}

/** Spec text as libsolv/mamba print it: `tinylib >=2`. */
export function formatSpecSpaced(spec) {
  return [spec.name, spec.version, spec.build].filter((x) => x !== undefined).join(" ");
}

/** Spec text as conda's classic solver prints it: `tinylib[version='>=2']`. */
export function formatSpecBracketed(spec) {
  const parts = [];
  if (spec.version !== undefined) parts.push(`version='${spec.version}'`);
  if (spec.build !== undefined) parts.push(`build='${spec.build}'`);
  return parts.length ? `${spec.name}[${parts.join(",")}]` : spec.name;
}

const compiled = new Map();

function compileVersion(expr, raw) {
  const hit = compiled.get(expr);
  if (hit) return hit;
  const alternatives = expr.split("|").map((alt) =>
    alt.split(",").map((term) => compileTerm(term.trim(), raw)),
  );
  const fn = (v) => alternatives.some((terms) => terms.every((t) => t(v)));
  compiled.set(expr, fn);
  return fn;
}

function compileTerm(term, raw) {
  const m = /^(>=|<=|==|!=|~=|>|<|=)?(.+)$/.exec(term);
  if (!m || !/^[A-Za-z0-9_.*+!-]+$/.test(m[2])) throw new SpecSyntaxError(`invalid version in match spec: ${raw}`);
  const op = m[1] ?? "";
  const ver = m[2];
  if (ver.includes("*")) {
    if (op !== "" && op !== "=" && op !== "==" && op !== "!=") {
      throw new SpecSyntaxError(`invalid version in match spec: ${raw}`);
    }
    const prefix = ver.replace(/\.?\*.*$/, "");
    const match = (v) => prefix === "" || v === prefix || v.startsWith(`${prefix}.`);
    return op === "!=" ? (v) => !match(v) : match;
  }
  switch (op) {
    case "":
    case "==":
      return (v) => compareVersions(v, ver) === 0;
    case "=":
      return (v) => compareVersions(v, ver) === 0 || v.startsWith(`${ver}.`);
    case "!=":
      return (v) => compareVersions(v, ver) !== 0;
    case ">=":
      return (v) => compareVersions(v, ver) >= 0;
    case "<=":
      return (v) => compareVersions(v, ver) <= 0;
    case ">":
      return (v) => compareVersions(v, ver) > 0;
    case "<":
      return (v) => compareVersions(v, ver) < 0;
    case "~=": {
      const upper = ver.split(".").slice(0, -1).join(".");
      return (v) => compareVersions(v, ver) >= 0 && (v === upper || v.startsWith(`${upper}.`));
    }
    default:
      throw new SpecSyntaxError(`invalid version operator in match spec: ${raw}`);
  }
}

/** Compares dotted versions segment by segment, numerically where both are numbers; 1.0 == 1.0.0. */
export function compareVersions(a, b) {
  const pa = String(a).split(/[.+_-]/);
  const pb = String(b).split(/[.+_-]/);
  const n = Math.max(pa.length, pb.length);
  for (let i = 0; i < n; i++) {
    const x = pa[i] ?? "0";
    const y = pb[i] ?? "0";
    const nx = /^\d+$/.test(x);
    const ny = /^\d+$/.test(y);
    if (nx && ny) {
      const d = Number(x) - Number(y);
      if (d !== 0) return d < 0 ? -1 : 1;
    } else if (x !== y) {
      if (nx !== ny) return nx ? 1 : -1;
      return x < y ? -1 : 1;
    }
  }
  return 0;
}

function globMatch(pattern, text) {
  const re = new RegExp(`^${pattern.split("*").map(escapeRegExp).join(".*")}$`);
  return re.test(text);
}

function escapeRegExp(s) {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
