// Command-line parsing for the three faces: argparse-like for conda / mamba 1.x, CLI11-like for
// micromamba / mamba 2.x. Unknown flags are usage failures, rendered per style by render-*.mjs.
import { PmFailure } from "./failure.mjs";

const COMMON_VALUES = { "-p": "prefix", "--prefix": "prefix", "-n": "name", "--name": "name", "-f": "file", "--file": "file", "-c": "channel", "--channel": "channel" };
// No --pkgs-dirs: micromamba and mamba 2 have no such flag (pkgs_dirs comes from CONDA_PKGS_DIRS or rc files).
const LIBMAMBA_VALUES = { "-r": "rootPrefix", "--root-prefix": "rootPrefix", "--rc-file": "rcFile" };
const COMMON_BOOLS = { "-y": "yes", "--yes": "yes", "--json": "json", "-q": "quiet", "--quiet": "quiet", "--override-channels": "overrideChannels", "--offline": "offline", "--dry-run": "dryRun", "-v": "verbose", "--verbose": "verbose" };
const LIBMAMBA_BOOLS = { "--no-rc": "noRc", "--no-env": "noEnv" };
// conda's create skips .condarc `create_default_packages` with it; libmamba has no such flag.
const CONDA_BOOLS = { "--no-default-packages": "noDefaultPackages" };
const REPEATED = new Set(["file", "channel"]);
const CONDA_COMMANDS = ["create", "env", "info"];
const LIBMAMBA_COMMANDS = ["create", "env", "info"];

/** Parses argv (without node and script) for a style ("conda" | "libmamba"). */
export function parseArgs(argv, style) {
  const values = style === "conda" ? COMMON_VALUES : { ...COMMON_VALUES, ...LIBMAMBA_VALUES };
  const bools = style === "conda" ? { ...COMMON_BOOLS, ...CONDA_BOOLS } : { ...COMMON_BOOLS, ...LIBMAMBA_BOOLS };
  const opts = { file: [], channel: [], specs: [] };
  const tokens = [...argv];
  let command;
  let i = 0;
  // libmamba accepts global options before the subcommand (`micromamba -r ROOT create ...`).
  while (i < tokens.length && tokens[i].startsWith("-")) {
    const tok = tokens[i];
    if (tok === "--version" || tok === "-V") return { command: "version", opts };
    if (tok === "-h" || tok === "--help") return { command: "help", opts };
    if (style === "conda") throw usage(style, `unrecognized arguments: ${tok}`, `The following argument was not expected: ${tok}`);
    i = takeOption(tokens, i, values, bools, opts, style);
  }
  const word = tokens[i++];
  const commands = style === "conda" ? CONDA_COMMANDS : LIBMAMBA_COMMANDS;
  if (word === undefined) return { command: "help", opts };
  if (!commands.includes(word)) {
    throw usage(
      style,
      `argument COMMAND: invalid choice: '${word}' (choose from ${commands.map((c) => `'${c}'`).join(", ")})`,
      `The following argument was not expected: ${word}`,
    );
  }
  command = word;
  if (word === "env") {
    const sub = tokens[i++];
    if (sub !== "create") {
      throw usage(style, `argument COMMAND: invalid choice: '${sub ?? ""}' (choose from 'create')`, `The following argument was not expected: ${sub ?? "env"}`);
    }
    command = "env create";
  }
  while (i < tokens.length) {
    const tok = tokens[i];
    if (tok === "-h" || tok === "--help") return { command: "help", opts, of: command };
    if (tok.startsWith("-") && tok !== "-") {
      i = takeOption(tokens, i, values, bools, opts, style);
      continue;
    }
    if (command !== "create") {
      throw usage(style, `unrecognized arguments: ${tok}`, `The following argument was not expected: ${tok}`);
    }
    opts.specs.push(tok);
    i += 1;
  }
  if (command === "info") {
    const allowed = new Set(["json", "quiet", "verbose", "noRc", "noEnv", "rootPrefix", "rcFile", "offline"]);
    for (const key of Object.keys(opts)) {
      if (["file", "channel", "specs"].includes(key) ? opts[key].length : !allowed.has(key)) {
        throw usage(style, `unrecognized arguments for info: ${key}`, `The following argument was not expected: ${key}`);
      }
    }
  }
  return { command, opts };
}

function takeOption(tokens, i, values, bools, opts, style) {
  const tok = tokens[i];
  const eq = tok.startsWith("--") ? tok.indexOf("=") : -1;
  const flag = eq > 0 ? tok.slice(0, eq) : tok;
  if (values[flag]) {
    const key = values[flag];
    const value = eq > 0 ? tok.slice(eq + 1) : tokens[i + 1];
    if (value === undefined || (eq < 0 && value.startsWith("-"))) {
      const long = Object.keys(values).filter((f) => values[f] === key).join("/");
      throw usage(style, `argument ${long}: expected one argument`, `${long.replace("/", ",")}: 1 required TEXT missing`);
    }
    if (REPEATED.has(key)) opts[key].push(value);
    else opts[key] = value;
    return eq > 0 ? i + 1 : i + 2;
  }
  if (bools[flag] && eq < 0) {
    opts[bools[flag]] = true;
    return i + 1;
  }
  throw usage(style, `unrecognized arguments: ${tok}`, `The following argument was not expected: ${tok}`);
}

function usage(style, condaText, libmambaText) {
  return new PmFailure("usage", { style, conda: condaText, libmamba: libmambaText });
}

export function helpText(face, style) {
  const lines = [
    `usage: ${face} <command> [options]`,
    "",
    "Fake package manager for tests (hypha-conda-worker). Commands:",
    "  create      -p PREFIX | -n NAME  [-f FILE]... [-c CHANNEL]... [-y] [--json] [-q] [--override-channels] [--offline] [SPEC...]",
    "  env create  -p PREFIX | -n NAME  -f environment.yml [-y] [--json] [-q]",
    "  info        [--json]",
    `  --version`,
  ];
  if (style === "libmamba") lines.push("Global: -r/--root-prefix ROOT, --no-rc, --no-env, --rc-file FILE");
  return `${lines.join("\n")}\n`;
}
