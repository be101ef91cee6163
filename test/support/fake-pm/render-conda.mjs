// What conda (and mamba 1.x, its Python wrapper) prints: progress text on stdout, errors on stderr as
// "Name: message", and with --json one document on stdout ({"exception_name": ...} on failure).
import { HOST_SUBDIR } from "./channels.mjs";
import { formatSpecBracketed } from "./match-spec.mjs";

const CONDA_ERRORS = {
  "missing-package": "PackagesNotFoundError",
  unsatisfiable: "UnsatisfiableError",
  "channel-unreachable": "CondaHTTPError",
  "channel-invalid": "UnavailableInvalidChannel",
  "non-conda-prefix": "DirectoryNotACondaEnvironmentError",
  "prefix-exists": "CondaSystemExit",
  "corrupted-package": "CondaVerificationError",
  "pip-failed": "CondaEnvException",
  "bad-env-file": "CondaValueError",
  "env-file-missing": "EnvironmentFileNotFound",
  "no-specs": "CondaValueError",
  "no-channels": "NoChannelsConfiguredError",
  "explicit-missing": "CondaHTTPError",
  "checksum-mismatch": "ChecksumMismatchError",
};

/** conda ≥ 26.7 renamed the missing-package error (reference, "Newer releases"). */
const CONDA_26_7_ERRORS = { "missing-package": "PackagesNotFoundInChannelsError" };

/** Returns {stdout, stderr, exitCode} for a failure. */
export function renderCondaFailure(failure, ctx) {
  if (failure.kind === "usage") {
    return { stdout: "", stderr: `usage: ${ctx.face} ${ctx.command} [-h] [options]\n${ctx.face} ${ctx.command}: error: ${failure.data.conda}\n`, exitCode: 2 };
  }
  if (ctx.createAlias && failure.kind === "corrupted-package") return renderMultiError(failure, ctx);
  const name = failure.data.exceptionName ?? (ctx.createAlias ? CONDA_26_7_ERRORS[failure.kind] : undefined) ?? CONDA_ERRORS[failure.kind] ?? "CondaError";
  const { message, extra } = describe(failure, ctx);
  if (ctx.json) {
    const doc = {
      caused_by: "None",
      error: `${name}: ${message}`,
      exception_name: name,
      exception_type: `<class 'conda.exceptions.${name}'>`,
      message,
      ...extra,
    };
    return { stdout: `${JSON.stringify(doc, null, 2)}\n`, stderr: "", exitCode: 1 };
  }
  return { stdout: "", stderr: `\n${name}: ${message}\n\n`, exitCode: 1 };
}

/**
 * conda 26.7.1 under the cold-cache race (measured): a CondaMultiError whose `errors` hold a SafetyError
 * ("incorrect size") and CondaVerificationErrors for the half-extracted package; the top says only
 * "Multiple Errors Encountered.". The text form (not measured; the worker always uses --json) lists each.
 */
function renderMultiError(failure, ctx) {
  const { record, path: dir } = failure.data;
  const where = `The package for ${record.name} located at ${dir}\nappears to be corrupted.`;
  const inner = [
    ["SafetyError", `${where} The path 'info/index.json'\nhas an incorrect size.\n  reported size: 512 bytes\n  actual size: 0 bytes\n`],
    ["CondaVerificationError", `${where} The path 'info/paths.json'\nspecified in the package manifest cannot be found.\n`],
  ];
  const errors = inner.map(([name, message]) => ({ caused_by: "None", error: `${name}: ${message}`, exception_name: name, exception_type: `<class 'conda.exceptions.${name}'>`, message }));
  if (ctx.json) {
    const doc = { error: "Multiple Errors Encountered.", errors, exception_name: "CondaMultiError", exception_type: "<class 'conda.CondaMultiError'>" };
    return { stdout: `${JSON.stringify(doc, null, 2)}\n`, stderr: "", exitCode: 1 };
  }
  return { stdout: "", stderr: errors.map((e) => `\n${e.error}`).join("") + "\n", exitCode: 1 };
}

function describe(failure, ctx) {
  const d = failure.data;
  switch (failure.kind) {
    case "missing-package": {
      const channelUrls = (d.channelUrls ?? []).flatMap((u) => [`${u}/${HOST_SUBDIR}`, `${u}/noarch`]);
      const packages = d.specs.map((s) => s.raw);
      const message = [
        "The following packages are not available from current channels:",
        "",
        ...packages.map((p) => `  - ${p}`),
        "",
        "Current channels:",
        "",
        ...channelUrls.map((u) => `  - ${u}`),
        "",
        "To search for alternate channels that may provide the conda package you're",
        "looking for, navigate to",
        "",
        "    https://anaconda.org",
        "",
        "and use the search bar at the top of the page.",
        "",
      ].join("\n");
      return { message, extra: { packages, channel_urls: channelUrls } };
    }
    case "unsatisfiable": {
      const chains = d.problems.map((p) =>
        p.package
          ? [`${p.package.name} -> ${formatSpecBracketed(p.requires)}`, ...p.conflictsWith.map(formatSpecBracketed)]
          : p.conflictsWith.map(formatSpecBracketed),
      );
      const names = [...new Set(d.problems.map((p) => p.requires?.name ?? p.conflictsWith[0]?.name))];
      const message = [
        "The following specifications were found to be incompatible with each other:",
        "",
        "Output in format: Requested package -> Available versions",
        "",
        ...names.map((n) => `Package ${n} conflicts for:`),
        ...chains.map((c) => c.join("\n")),
        "",
      ].join("\n");
      return { message, extra: { unsatisfiable: chains } };
    }
    case "channel-unreachable":
      return {
        message: [
          `HTTP 000 CONNECTION FAILED for url <${d.url}>`,
          "Elapsed: -",
          "",
          "An HTTP error occurred when trying to retrieve this URL.",
          "HTTP errors are often intermittent, and a simple retry will get you on your way.",
          `'${d.url}'`,
          "",
        ].join("\n"),
        extra: { url: d.url, status_code: "000", reason: "CONNECTION FAILED", elapsed_time: "-", response_details: "" },
      };
    case "channel-invalid":
      return {
        message: [
          `HTTP 404 UNAVAILABLE OR INVALID for channel ${d.channel.given} <${d.channel.url}>`,
          "",
          "The channel is not accessible or is invalid.",
          "",
          "You will need to adjust your conda configuration to proceed.",
          "Use `conda config --show channels` to view your configuration's current state,",
          "and use `conda config --show-sources` to view config file locations.",
          "",
        ].join("\n"),
        extra: { channel_name: d.channel.given, channel_url: d.channel.url, status_code: 404 },
      };
    case "explicit-missing":
      return {
        message: `HTTP ${d.status === 404 ? "404 NOT FOUND" : "000 CONNECTION FAILED"} for url <${d.url}>\nElapsed: -\n\nAn HTTP error occurred when trying to retrieve this URL.\n'${d.url}'\n`,
        extra: { url: d.url, status_code: d.status, reason: d.status === 404 ? "NOT FOUND" : "CONNECTION FAILED", elapsed_time: "-", response_details: "" },
      };
    case "checksum-mismatch":
      return {
        message: `Conda detected a mismatch between the expected content and downloaded content\nfor url '${d.url}'.\n  expected: ${d.expected}\n  actual: ${d.actual}\n`,
        extra: { url: d.url, target_full_path: d.record.fn, checksum_type: d.expected.length === 32 ? "md5" : "sha256", expected_checksum: d.expected, actual_checksum: d.actual },
      };
    case "no-channels":
      return { message: "No channels were configured. Use `conda config --add channels <name>` or pass `-c <name>`.", extra: {} };
    case "non-conda-prefix":
      return {
        message: `The target directory exists, but it is not a conda environment.\nUse 'conda create' to convert the directory to a conda environment.\n  target directory: ${d.prefix}\n`,
        extra: { target_directory: d.prefix },
      };
    case "prefix-exists":
      return { message: "Exiting.", extra: {} };
    case "corrupted-package":
      return {
        message: `The package for ${d.record.name} located at ${d.path} appears to be corrupted. The path 'info/index.json' specified in the package manifest cannot be found.\n`,
        extra: { path: d.path },
      };
    case "pip-failed":
      return { message: "Pip failed", extra: {} };
    case "env-file-missing":
      return { message: `'${d.file}' file not found`, extra: { filename: d.file } };
    case "bad-env-file":
      return { message: d.message, extra: {} };
    case "no-specs":
      return {
        message: "too few arguments, must supply command line package specs or --file\n\nExample: conda create -n myenv python\n",
        extra: {},
      };
    default:
      return { message: d.message ?? failure.kind, extra: {} };
  }
}

/** Progress writer for conda/mamba 1.x: quiet under -q and --json. */
export function condaProgress(ctx) {
  const say = (text) => {
    if (!ctx.json && !ctx.quiet) process.stdout.write(text);
  };
  return {
    planned(records, specs, channels, prefix) {
      ctx.prefix = prefix;
      say(`Channels:\n${channels.map((c) => ` - ${c.given}`).join("\n")}\nPlatform: ${HOST_SUBDIR}\n`);
      say("Collecting package metadata (repodata.json): done\nSolving environment: done\n\n");
      say(`## Package Plan ##\n\n  environment location: ${ctx.prefix}\n\n  added / updated specs:\n`);
      say(`${specs.map((s) => `    - ${s.raw}`).join("\n")}\n\n\nThe following NEW packages will be INSTALLED:\n\n`);
      say(`${records.map((r) => `  ${r.name.padEnd(18)} ${r.channel}::${r.dist}`).join("\n")}\n\n\n`);
      say("Downloading and Extracting Packages:\n");
    },
    extracted(rec) {
      say(`${`${rec.name}-${rec.version}`.padEnd(20)} | ${"1 KB".padEnd(9)} | ########## | 100%\n`);
      // conda's ProgressBar in --json mode: NUL-terminated fetch records on stdout, before the final document.
      if (ctx.json && !ctx.quiet) {
        const fetch = `${rec.name}-${rec.version}`;
        process.stdout.write(`{"fetch":"${fetch}","finished":false,"maxval":1,"progress":1.000000}\n\0`);
        process.stdout.write(`{"fetch":"${fetch}","finished":true,"maxval":1,"progress":1}\n\0`);
      }
    },
    linkStarted() {
      say("Preparing transaction: done\nVerifying transaction: done\nExecuting transaction: ...working...\n");
    },
    linked(rec) {
      say(`  linking ${rec.dist}\n`);
    },
    linkDone() {
      say("done\n");
    },
    pipStarted(args) {
      say(`Installing pip dependencies: ...working... Ran pip subprocess with arguments:\n${JSON.stringify(args)}\n`);
    },
    finished(summary) {
      if (ctx.json) {
        // stdout_json_success(prefix=..., actions=..., dry_run=True) for a dry run; the legacy action group has PREFIX.
        const doc = summary.dryRun ? { actions: { ...summary.actions, PREFIX: ctx.prefix }, dry_run: true, prefix: ctx.prefix, success: true } : { actions: summary.actions, prefix: ctx.prefix, success: true };
        process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
        return;
      }
      say(`#\n# To activate this environment, use\n#\n#     $ ${ctx.face} activate ${ctx.prefix}\n#\n`);
      say(`# To deactivate an active environment, use\n#\n#     $ ${ctx.face} deactivate\n\n`);
    },
  };
}
