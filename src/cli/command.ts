/** What every CLI subcommand module exports, and the shared flag parser. */
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "../errors.js";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export interface CommandContext {
  /** Environment variables (process.env by default; tests pass their own). */
  env: NodeJS.ProcessEnv;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  isTTY: boolean;
}

export interface CommandDefinition {
  name: string;
  summary: string;
  /** Full help text, shown by `hypha-conda-worker <name> --help`. */
  usage: string;
  options: OptionSpec;
  /** Allows positional arguments. */
  allowPositionals?: boolean;
  /** Rewrites argv before parsing (e.g. a flag that takes an optional value). */
  normalizeArgv?: (argv: readonly string[]) => string[];
  /** Returns the process exit code. */
  run(values: Record<string, unknown>, positionals: string[], ctx: CommandContext): Promise<number>;
}

/** Parses argv against a command's options; unknown flags become a UsageError pointing at --help. */
export function parseCommandArgs(def: CommandDefinition, argv: string[]): { values: Record<string, unknown>; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({
      args: def.normalizeArgv ? def.normalizeArgv(argv) : argv,
      options: { ...def.options, help: { type: "boolean", short: "h" } },
      allowPositionals: def.allowPositionals ?? false,
      strict: true,
    });
    return { values: values as Record<string, unknown>, positionals };
  } catch (error) {
    throw new UsageError(`${def.name}: ${(error as Error).message}`, { cause: error });
  }
}
