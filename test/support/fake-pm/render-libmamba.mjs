// What micromamba and mamba 2.x (both libmamba's C++ CLI) print: a transaction table and "Linking" lines on
// stdout, "critical libmamba ..." on stderr, and with --json {"success": ..., "solver_problems"?: [...]}.
import { formatSpecSpaced } from "./match-spec.mjs";

/** Returns {stdout, stderr, exitCode} for a failure. */
export function renderLibmambaFailure(failure, ctx) {
  const d = failure.data;
  switch (failure.kind) {
    case "usage":
      return { stdout: "", stderr: `${d.libmamba}\nRun with --help for more information.\n`, exitCode: 109 };
    case "missing-package": {
      const problems = ctx.terseSolverJson ? ["unsupported request"] : d.specs.map((s) => `nothing provides requested ${formatSpecSpaced(s)}`);
      const text = [
        "error    libmamba Could not solve for environment specs",
        `    The following package${d.specs.length > 1 ? "s" : ""} could not be installed`,
        ...d.specs.map((s, i) => `    ${i === d.specs.length - 1 ? "└─" : "├─"} ${formatSpecSpaced(s)} does not exist (perhaps a typo or a missing channel).`),
        "critical libmamba Could not solve for environment specs",
        "",
      ].join("\n");
      return solverFailure(problems, text, ctx);
    }
    case "unsatisfiable": {
      const problems = d.problems.map((p) => {
        if (!p.package) return `cannot install the requested specs together: ${p.conflictsWith.map(formatSpecSpaced).join(", ")}`;
        const pkg = p.package.dist;
        return p.nothingProvides
          ? `nothing provides ${formatSpecSpaced(p.requires)} needed by ${pkg}`
          : `package ${pkg} requires ${formatSpecSpaced(p.requires)}, but none of the providers can be installed`;
      });
      const text = [
        "error    libmamba Could not solve for environment specs",
        "    The following packages are incompatible",
        ...problems.map((p, i) => `    ${i === problems.length - 1 ? "└─" : "├─"} ${p}`),
        "critical libmamba Could not solve for environment specs",
        "",
      ].join("\n");
      return solverFailure(problems, text, ctx);
    }
    case "channel-unreachable":
      return critical(`Multiple errors occurred:\n    Download error (6) Couldn't resolve host name [${d.url}]\n    Could not resolve host: ${new URL(d.url).host}\n    Subdir not loaded!`);
    case "channel-invalid":
      return critical(`Multiple errors occurred:\n    Download error (37) Couldn't read a file:// file [${d.url}]\n    Couldn't open file\n    Subdir not loaded!`);
    case "pkgs-dir-missing":
      return critical(`Package cache directory does not exist: '${d.dir}' (every pkgs_dirs entry must exist with --offline)`);
    case "non-conda-prefix":
      return critical("Non-conda folder exists at prefix");
    case "prefix-exists":
      return { stdout: `Found conda-prefix at '${d.prefix}'. Overwrite?: [y/N] \n`, stderr: "critical libmamba Aborted.\n", exitCode: 1 };
    case "corrupted-package":
      return {
        stdout: "",
        stderr: `error    libmamba File not valid: file size doesn't match expectation "${d.path}.tar.bz2"\ncritical libmamba Found incorrect download: ${d.record.name}. Aborting\n`,
        exitCode: 1,
      };
    case "pip-failed":
      return critical("pip failed to install packages");
    case "explicit-missing":
      return critical(d.url.startsWith("file://")
        ? `Multiple errors occurred:\n    Download error (37) Couldn't read a file:// file [${d.url}]\n    Couldn't open file`
        : `Multiple errors occurred:\n    Transfer finalized, status: ${d.status} [${d.url}] 0 bytes`);
    case "checksum-mismatch":
      return { stdout: "", stderr: `error    libmamba File not valid: SHA256 sum doesn't match expectation "${d.record.fn}"\ncritical libmamba Found incorrect download: ${d.record.name}. Aborting\n`, exitCode: 1 };
    case "env-file-missing":
      return critical(`File not found: ${d.file}`);
    case "bad-env-file":
      return critical(d.message);
    default:
      return critical(d.message ?? failure.kind);
  }
}

function critical(message) {
  return { stdout: "", stderr: `critical libmamba ${message}\n`, exitCode: 1 };
}

function solverFailure(problems, text, ctx) {
  if (ctx.json) {
    return { stdout: `${JSON.stringify({ solver_problems: problems, success: false }, null, 4)}\n`, stderr: "critical libmamba Could not solve for environment specs\n", exitCode: 1 };
  }
  return { stdout: "", stderr: text, exitCode: 1 };
}

/** Progress writer for micromamba / mamba 2.x: quiet under -q and --json. */
export function libmambaProgress(ctx) {
  const say = (text) => {
    if (!ctx.json && !ctx.quiet) process.stdout.write(text);
  };
  return {
    planned(records, specs, _channels, prefix) {
      ctx.prefix = prefix;
      const rule = "─".repeat(60);
      say(`\nTransaction\n\n  Prefix: ${ctx.prefix}\n\n  Updating specs:\n\n`);
      say(`${specs.map((s) => `   - ${s.raw}`).join("\n")}\n\n\n`);
      say(`  Package  Version  Build  Channel  Size\n${rule}\n  Install:\n${rule}\n\n`);
      say(`${records.map((r) => `  + ${r.name.padEnd(14)} ${r.version.padEnd(9)} ${r.build.padEnd(8)} ${r.channel}`).join("\n")}\n\n`);
      say(`  Summary:\n\n  Install: ${records.length} packages\n\n${rule}\n\n`);
    },
    extracted(rec) {
      say(`${rec.name} ${rec.version} extracted\n`);
    },
    linkStarted() {
      say("Transaction starting\n");
    },
    linked(rec) {
      say(`Linking ${rec.dist}\n`);
    },
    linkDone() {
      say("\nTransaction finished\n\n");
    },
    pipStarted() {
      say("Installing pip packages: \n");
    },
    finished(summary) {
      if (ctx.json) {
        const doc = { actions: { ...summary.actions, PREFIX: ctx.prefix }, dry_run: summary.dryRun === true, prefix: ctx.prefix, success: true };
        process.stdout.write(`${JSON.stringify(doc, null, 4)}\n`);
        return;
      }
      say(`To activate this environment, use:\n\n    ${ctx.face} activate ${ctx.prefix}\n\n`);
      say(`Or to execute a single command in this environment, use:\n\n    ${ctx.face} run -p ${ctx.prefix} mycommand\n\n`);
    },
  };
}
