// `create` / `env create`: gather specs and channels, solve, extract into the package cache, link into the
// prefix, write conda-meta, run the pip section. Failures are thrown as PmFailure for render-*.mjs.
import path from "node:path";
import { loadCacheIndex, loadChannelIndex, resolveChannel, HOST_SUBDIR } from "./channels.mjs";
import { configuredChannels, envsDirs, isCondaCreateAlias, pkgsDirs } from "./faces.mjs";
import { readSpecFile } from "./env-file.mjs";
import { PmFailure } from "./failure.mjs";
import { linkPackage, writeCondaMetaRecord } from "./link.mjs";
import { extractIntoCache, sleep } from "./pkgs-cache.mjs";
import { installPipSection } from "./pip-section.mjs";
import { appendHistoryLink, finishCondaMeta, preparePrefix, startCondaMeta } from "./prefix.mjs";
import { probeBasePython } from "./python-probe.mjs";
import { parseMatchSpec, SpecSyntaxError } from "./match-spec.mjs";
import { solve } from "./solver.mjs";

export async function runCreate({ flavour, command, opts, env, knobs, progress, historyArgv }) {
  const request = gatherRequest(flavour, command, opts, env);
  const prefix = request.prefix;
  preparePrefix(prefix, { yes: Boolean(opts.yes), style: flavour.style });
  const pkgs = pkgsDirs(flavour, env, opts);
  const index =
    flavour.style === "libmamba" && opts.offline
      ? loadCacheIndex(pkgs)
      : loadChannelIndex(request.channels.map(resolveChannel), { skipUnreachable: Boolean(opts.offline) });
  const channelUrls = index.channels.map((c) => c.url);
  const records = request.specs.length ? solve(index, request.specs, { channelUrls }) : [];
  progress.planned(records, request.specs, index.channels, prefix);
  if (opts.dryRun) {
    progress.finished({ actions: { LINK: records.map(actionEntry) }, dryRun: true });
    return;
  }
  const fetched = [];
  const extracted = await extractIntoCache(records, pkgs[0], knobs, (rec) => {
    fetched.push(rec);
    progress.extracted(rec);
  });
  startCondaMeta(prefix, { argv: historyArgv, flavour, specs: request.specs });
  const python = records.length ? lazyPython() : undefined;
  progress.linkStarted();
  if (knobs.crashAfter === 0) process.kill(process.pid, "SIGKILL");
  let linked = 0;
  for (const rec of records) {
    if (knobs.delayMs > 0) await sleep(knobs.delayMs);
    const dir = extracted.get(rec.dist);
    const files = linkPackage(prefix, dir, rec, python);
    const requested = request.specs.find((s) => s.name === rec.name);
    writeCondaMetaRecord(prefix, rec, dir, files, requested?.raw);
    appendHistoryLink(prefix, rec);
    progress.linked(rec);
    linked += 1;
    // A crash mid-transaction leaves a partial prefix, as an OOM kill of a real create would.
    if (knobs.crashAfter !== undefined && linked >= knobs.crashAfter) process.kill(process.pid, "SIGKILL");
  }
  progress.linkDone();
  finishCondaMeta(prefix, { specs: request.specs, flavour, variables: request.variables, env });
  const actions = { FETCH: fetched.map(actionEntry), LINK: records.map(actionEntry) };
  if (request.pip.length) {
    await installPipSection(prefix, request.pip, {
      style: flavour.style,
      major: Number.parseInt(flavour.version, 10),
      envFileDir: request.envFileDir,
      quiet: Boolean(opts.quiet),
      json: Boolean(opts.json),
      onStart: (args) => progress.pipStarted(args),
    });
    actions.PIP = request.pip;
  }
  progress.finished({ actions });
}

/** Specs, channels, pip lines, variables and the target prefix, from argv and the -f files. */
function gatherRequest(flavour, command, opts, env) {
  const files = [...opts.file];
  if (command === "env create" && files.length === 0 && flavour.style === "conda") files.push("environment.yml");
  if (command === "env create" && files.length !== 1) {
    throw new PmFailure("usage", { conda: "argument -f/--file: expected one argument", libmamba: "-f,--file: 1 required TEXT missing" });
  }
  const allowYaml = !(flavour.mamba1 && command === "create");
  const parsedFiles = files.map((f) => readSpecFile(f, { allowYaml }));
  const specs = opts.specs.map(parseCliSpec);
  for (const f of parsedFiles) specs.push(...f.specs);
  if (specs.length === 0 && flavour.style === "conda" && command === "create") throw new PmFailure("no-specs", {});
  warnAboutUnlistedPip(flavour, parsedFiles);
  const fileChannels = parsedFiles.flatMap((f) => f.channels);
  const specChannels = specs.filter((s) => s.channel).map((s) => s.channel);
  let channels = [...opts.channel, ...fileChannels, ...specChannels];
  // Only conda's old env installers (23.7–26.5, and mamba 1 which wraps them) strip `nodefaults`; conda ≥ 26.7's
  // create resolves it like any name (<channel_alias>/nodefaults → UnavailableInvalidChannel).
  const stripsNodefaults = !isCondaCreateAlias(flavour);
  const noDefaults = stripsNodefaults && channels.includes("nodefaults");
  if (stripsNodefaults) channels = channels.filter((c) => c !== "nodefaults");
  if (!opts.overrideChannels && !noDefaults) channels.push(...configuredChannels(flavour, env, opts));
  if (channels.length === 0 && flavour.face === "mamba" && flavour.style === "libmamba") channels.push("conda-forge");
  if (channels.length === 0 && isCondaCreateAlias(flavour)) throw new PmFailure("no-channels", {});
  // anaconda.org answers 404 for the name `nodefaults`, measured on 26.7.1: the create fails before solving.
  if (channels.includes("nodefaults")) throw new PmFailure("channel-invalid", { channel: resolveChannel("nodefaults"), reason: "404" });
  channels = dedupe(channels, (c) => resolveChannel(c).url);
  const name = opts.name ?? parsedFiles.find((f) => f.name)?.name;
  let prefix;
  if (opts.prefix) prefix = path.resolve(opts.prefix);
  else if (name) prefix = path.join(envsDirs(flavour, env, opts)[0], name);
  else {
    throw new PmFailure("usage", {
      conda: "one of the arguments -n/--name -p/--prefix is required",
      libmamba: "--prefix,--name: no target prefix given (pass -p PREFIX or -n NAME)",
    });
  }
  return {
    prefix,
    specs,
    channels,
    pip: parsedFiles.flatMap((f) => f.pip),
    variables: Object.assign({}, ...parsedFiles.map((f) => f.variables)),
    envFileDir: parsedFiles.find((f) => f.pip.length)?.dir ?? process.cwd(),
  };
}

/** conda's env loader (conda/env/env.py, 23.7 through 26.7) prints this on stdout, before any --json document. */
function warnAboutUnlistedPip(flavour, parsedFiles) {
  if (flavour.style !== "conda") return;
  const withPip = parsedFiles.filter((f) => f.pip.length > 0);
  if (withPip.length === 0 || withPip.some((f) => f.specs.some((s) => s.name === "pip"))) return;
  process.stdout.write(
    "Warning: you have pip-installed dependencies in your environment file, but you do not list pip itself as one of your conda dependencies.  " +
      "Conda may not use the correct pip to install your packages, and they may end up in the wrong place.  " +
      "Please add an explicit pip dependency.  I'm adding one for you, but still nagging you.\n",
  );
}

function parseCliSpec(text) {
  try {
    return parseMatchSpec(text);
  } catch (err) {
    if (err instanceof SpecSyntaxError) throw new PmFailure("bad-env-file", { message: `Invalid spec: ${err.message}` });
    throw err;
  }
}

function dedupe(items, key) {
  const seen = new Set();
  return items.filter((item) => {
    const k = key(item);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

function actionEntry(rec) {
  return {
    base_url: rec.channel,
    build_number: rec.build_number ?? 0,
    build_string: rec.build,
    channel: rec.channel,
    dist_name: rec.dist,
    name: rec.name,
    platform: rec.subdir ?? HOST_SUBDIR,
    version: rec.version,
    url: rec.url,
  };
}

// Only creates that link python-aware packages need the base interpreter probed.
function lazyPython() {
  let probe;
  const get = () => (probe ??= probeBasePython());
  return new Proxy({}, { get: (_target, key) => get()[key] });
}
