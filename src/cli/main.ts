/** The CLI dispatcher: global flags, then a subcommand from the table. */
import { COMMANDS } from "./commands.js";
import { parseCommandArgs, type CommandContext } from "./command.js";
import { UsageError } from "../errors.js";
import { VERSION } from "../version.js";

function formatMainHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(8, ...names.map((n) => n.length));
  const lines = names.map((n) => `  ${n.padEnd(width)}  ${COMMANDS[n]!.summary}`);
  return [
    "hypha-conda-worker: run conda-python Hypha apps in hashed, cached conda environments",
    "",
    "Usage: hypha-conda-worker <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Global options:",
    "  -h, --help     show help (also: hypha-conda-worker <command> --help)",
    "  -V, --version  print the version",
    "",
  ].join("\n");
}

/** Runs the CLI with argv (without node and script) and returns the exit code. */
export async function main(argv: string[], ctx: CommandContext): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined || first === "-h" || first === "--help" || first === "help") {
    ctx.stdout.write(formatMainHelp());
    return first === undefined ? 2 : 0;
  }
  if (first === "-V" || first === "--version") {
    ctx.stdout.write(`${VERSION}\n`);
    return 0;
  }
  const entry = COMMANDS[first];
  if (!entry) {
    const kind = first.startsWith("-") ? "option" : "command";
    throw new UsageError(`unknown ${kind} '${first}'`);
  }
  const def = await entry.load();
  const { values, positionals } = parseCommandArgs(def, rest);
  if (values.help) {
    ctx.stdout.write(def.usage.endsWith("\n") ? def.usage : `${def.usage}\n`);
    return 0;
  }
  return def.run(values, positionals, ctx);
}
