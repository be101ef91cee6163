// Reading `-f` files: environment.yml (name, channels, dependencies with one {pip: [...]}, variables) or a
// plain text list of match specs. mamba 1.x `create --file` only takes text specs.
import fs from "node:fs";
import path from "node:path";
import YAML from "yaml";
import { PmFailure } from "./failure.mjs";
import { parseMatchSpec, SpecSyntaxError } from "./match-spec.mjs";

/** Returns {name?, channels[], specs[] (parsed), pip[], variables{}, file, dir}. */
export function readSpecFile(file, { allowYaml }) {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs) || !fs.statSync(abs).isFile()) throw new PmFailure("env-file-missing", { file: abs });
  const text = fs.readFileSync(abs, "utf8");
  const isYaml = /\.ya?ml$/i.test(abs);
  if (isYaml && allowYaml) return readYaml(text, abs);
  return readTextSpecs(text, abs);
}

function readYaml(text, abs) {
  let doc;
  try {
    doc = YAML.parse(text);
  } catch (cause) {
    throw bad(`Unable to parse ${abs}: ${cause.message}`);
  }
  if (doc === null || typeof doc !== "object" || Array.isArray(doc)) throw bad(`${abs} is not a YAML mapping`);
  const channels = doc.channels ?? [];
  if (!Array.isArray(channels) || channels.some((c) => typeof c !== "string")) {
    throw bad(`'channels' in ${abs} must be a list of strings`);
  }
  const deps = doc.dependencies ?? [];
  if (!Array.isArray(deps)) throw bad(`'dependencies' in ${abs} must be a list`);
  const specs = [];
  const pip = [];
  let pipSections = 0;
  for (const dep of deps) {
    if (typeof dep === "string") {
      specs.push(parseSpec(dep, abs));
    } else if (dep && typeof dep === "object" && Array.isArray(dep.pip) && Object.keys(dep).length === 1) {
      pipSections += 1;
      if (dep.pip.some((p) => typeof p !== "string")) throw bad(`'pip' items in ${abs} must be strings`);
      pip.push(...dep.pip);
    } else {
      throw bad(`invalid dependency ${JSON.stringify(dep)} in ${abs}`);
    }
  }
  if (pipSections > 1) throw bad(`more than one 'pip' section in ${abs}`);
  const variables = doc.variables ?? {};
  if (typeof variables !== "object" || Array.isArray(variables)) throw bad(`'variables' in ${abs} must be a mapping`);
  return {
    name: typeof doc.name === "string" ? doc.name : undefined,
    channels,
    specs,
    pip,
    variables: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
    file: abs,
    dir: path.dirname(abs),
  };
}

function readTextSpecs(text, abs) {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const marker = lines.indexOf("@EXPLICIT");
  if (marker >= 0) {
    // An explicit list: one package URL per line, optionally `#<md5>` or `#sha256:<hex>` (conda's url_pat).
    const explicit = lines.slice(marker + 1).filter((l) => l && !l.startsWith("#")).map((line) => parseExplicitLine(line, abs));
    return { channels: [], specs: [], explicit, pip: [], variables: {}, file: abs, dir: path.dirname(abs) };
  }
  const specs = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/#.*$/, "").trim();
    if (!line || line.startsWith("@")) continue;
    try {
      specs.push(parseMatchSpec(line));
    } catch (err) {
      if (err instanceof SpecSyntaxError) throw bad(`could not parse '${line}' in: ${abs}`);
      throw err;
    }
  }
  return { channels: [], specs, pip: [], variables: {}, file: abs, dir: path.dirname(abs) };
}

function parseSpec(text, abs) {
  try {
    return parseMatchSpec(text);
  } catch (err) {
    if (err instanceof SpecSyntaxError) throw bad(`${err.message} (in ${abs})`);
    throw err;
  }
}

function bad(message) {
  return new PmFailure("bad-env-file", { message });
}

function parseExplicitLine(line, abs) {
  const m = /^(?<url>[^#\s]+\/(?<fn>[^/#\s]+(?:\.tar\.bz2|\.conda)))(?:#(?:(?<md5>[0-9a-f]{32})|(?:sha256:)?(?<sha256>[0-9a-f]{64})))?$/.exec(line);
  if (!m) throw bad(`Could not parse explicit URL: ${line} (in ${abs})`);
  return { url: m.groups.url, fn: m.groups.fn, md5: m.groups.md5, sha256: m.groups.sha256 };
}
