// Target prefix rules and the env-level metadata: conda-meta/history, state, created_at, environments.txt.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PmFailure } from "./failure.mjs";
import { alwaysRegistersEnvs } from "./faces.mjs";

/**
 * Applies the existing-prefix rules before anything is written: a missing or empty dir is used (libmamba
 * warns about an empty one), a conda env is deleted under -y, anything else aborts.
 */
export function preparePrefix(prefix, { yes, style }) {
  if (!fs.existsSync(prefix)) return;
  const stat = fs.statSync(prefix);
  if (!stat.isDirectory()) throw new PmFailure("non-conda-prefix", { prefix });
  const entries = fs.readdirSync(prefix);
  if (entries.length === 0) {
    if (style === "libmamba") process.stderr.write(`warning  libmamba Empty folder exists at prefix '${prefix}', it will be used\n`);
    return;
  }
  if (!entries.includes("conda-meta")) throw new PmFailure("non-conda-prefix", { prefix });
  if (!yes) {
    if (style === "conda") {
      process.stdout.write(`WARNING: A conda environment already exists at '${prefix}'\n\nRemove existing environment?\nThis will remove ALL directories contained within this specified prefix directory.\n\n (y/[n])? \n`);
    }
    throw new PmFailure("prefix-exists", { prefix });
  }
  if (style === "libmamba") process.stdout.write(`Found conda-prefix at '${prefix}'. Overwrite?: [y/N] y\n`);
  else process.stderr.write(`WARNING: A conda environment already exists at '${prefix}'\nRemove existing environment?\n`);
  fs.rmSync(prefix, { recursive: true, force: true });
}

/** Creates PREFIX/conda-meta; the first history block makes PREFIX a conda env. */
export function startCondaMeta(prefix, { argv, flavour, specs }) {
  fs.mkdirSync(path.join(prefix, "conda-meta"), { recursive: true });
  const stamp = new Date().toISOString().replace("T", " ").replace(/\.\d+Z$/, "");
  const lines = [`==> ${stamp} <==`, `# cmd: ${argv.join(" ")}`];
  lines.push(flavour.style === "conda" ? `# conda version: ${flavour.version}` : `# ${flavour.face} version: ${flavour.version}`);
  fs.writeFileSync(path.join(prefix, "conda-meta", "history"), `${lines.join("\n")}\n`);
  return { specs };
}

/** Appends one "+channel::dist" line per linked package, then the update-specs line at the end. */
export function appendHistoryLink(prefix, record) {
  fs.appendFileSync(path.join(prefix, "conda-meta", "history"), `+${record.channel}::${record.dist}\n`);
}

export function finishCondaMeta(prefix, { specs, flavour, variables, env }) {
  const history = path.join(prefix, "conda-meta", "history");
  fs.appendFileSync(history, `# update specs: ${JSON.stringify(specs.map((s) => s.raw))}\n`);
  // libmamba reads `variables:` only from 2.2 (install.cpp); micromamba 1.5 and mamba 2.0/2.1 drop them.
  const [major = 0, minor = 0] = flavour.version.split(".").map(Number);
  const writesState = flavour.style === "conda" || major > 2 || (major === 2 && minor >= 2);
  if (writesState && Object.keys(variables).length) {
    fs.writeFileSync(path.join(prefix, "conda-meta", "state"), `${JSON.stringify({ env_vars: variables }, null, 2)}\n`);
  }
  if (flavour.face === "conda" && Number(flavour.version.split(".")[0]) >= 25) {
    fs.writeFileSync(path.join(prefix, "conda-meta", "created_at"), `${Date.now() * 1000000}\n`);
  }
  if (registersEnvs(flavour, env)) registerEnvironment(prefix, env);
}

/** `register_envs` (default true): conda reads CONDA_REGISTER_ENVS, libmamba before 2.8 MAMBA_REGISTER_ENVS. */
function registersEnvs(flavour, env) {
  if (alwaysRegistersEnvs(flavour)) return true;
  const value = flavour.style === "conda" ? env.CONDA_REGISTER_ENVS : env.MAMBA_REGISTER_ENVS;
  return !/^(false|no|0|off)$/i.test(String(value ?? "").trim());
}

/** conda and libmamba both list every env they create in ~/.conda/environments.txt. */
function registerEnvironment(prefix, env) {
  const file = path.join(env.HOME || os.homedir(), ".conda", "environments.txt");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const known = fs.existsSync(file) ? fs.readFileSync(file, "utf8").split("\n") : [];
  if (!known.includes(prefix)) fs.appendFileSync(file, `${prefix}\n`);
}
