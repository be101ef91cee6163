/**
 * The subcommand table. Each entry loads its module lazily so `--help` and fast commands do not pay
 * for the whole worker at start-up. Add a command here when its capability lands.
 */
import type { CommandDefinition } from "./command.js";

export interface CommandEntry {
  summary: string;
  load: () => Promise<CommandDefinition>;
}

export const COMMANDS: Record<string, CommandEntry> = {};
