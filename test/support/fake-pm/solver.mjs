// A small backtracking solver over the fixture channel: channel priority first, then newest version.
// It reports the two failures the worker must tell apart: a package that does not exist in the channels
// (missing-package) and specs that exist but cannot be installed together (unsatisfiable).
import { PmFailure } from "./failure.mjs";
import { compareVersions, parseMatchSpec, recordMatches } from "./match-spec.mjs";
import { resolveChannel } from "./channels.mjs";

/**
 * Solves `requested` (parsed match specs) against `index.records`.
 * Returns the records to install, dependencies before dependents.
 */
export function solve(index, requested, { channelUrls, pipOnlyForRequestedPython = false }) {
  const pipAvailable = index.records.some((r) => r.name === "pip") && (!pipOnlyForRequestedPython || requested.some((spec) => spec.name === "python"));
  const missing = requested.filter((spec) => candidatesFor(index, [spec]).length === 0);
  if (missing.length) throw new PmFailure("missing-package", { specs: missing, channelUrls });
  const constraints = requested.map((spec) => ({ spec, from: null }));
  const result = search(index, new Map(), constraints, pipAvailable, 0);
  if (!result) throw new PmFailure("unsatisfiable", { problems: explainConflict(index, requested), requested });
  return orderByDependencies([...result.values()], pipAvailable);
}

function search(index, assigned, constraints, pipAvailable, depth) {
  if (depth > 200) return null;
  const next = constraints.find((c) => !assigned.has(c.spec.name));
  if (!next) return assigned;
  const name = next.spec.name;
  const specsForName = constraints.filter((c) => c.spec.name === name).map((c) => c.spec);
  for (const candidate of candidatesFor(index, specsForName)) {
    const deps = dependenciesOf(candidate, pipAvailable).map((spec) => ({ spec, from: candidate }));
    const clash = deps.some((d) => assigned.has(d.spec.name) && !recordMatches(d.spec, assigned.get(d.spec.name)));
    if (clash) continue;
    const nextAssigned = new Map(assigned).set(name, candidate);
    const found = search(index, nextAssigned, constraints.concat(deps), pipAvailable, depth + 1);
    if (found) return found;
  }
  return null;
}

/** Records that satisfy every spec, best first (channel priority, then version, then build number). */
export function candidatesFor(index, specs) {
  return index.records
    .filter((rec) => specs.every((spec) => recordMatches(spec, rec) && channelAllows(spec, rec)))
    .sort(
      (a, b) =>
        a.channelIndex - b.channelIndex ||
        -compareVersions(a.version, b.version) ||
        (b.build_number ?? 0) - (a.build_number ?? 0),
    );
}

function channelAllows(spec, rec) {
  if (!spec.channel) return true;
  return resolveChannel(spec.channel).url === rec.channel;
}

export function dependenciesOf(record, pipAvailable) {
  const deps = record.depends.map((d) => parseMatchSpec(d));
  // add_pip_as_python_dependency: on by default in conda, mamba and micromamba (libmamba ≥ 2.8: see solve()).
  if (record.name === "python" && pipAvailable && !deps.some((d) => d.name === "pip")) {
    deps.push(parseMatchSpec("pip"));
  }
  return deps;
}

/** libsolv-style problem lines plus conda's classic "a -> b / c" chains. */
function explainConflict(index, requested) {
  const problems = [];
  for (const spec of requested) {
    for (const candidate of candidatesFor(index, [spec])) {
      for (const dep of candidate.depends.map((d) => parseMatchSpec(d))) {
        const providers = candidatesFor(index, [dep]);
        const others = requested.filter((r) => r.name === dep.name && r !== spec);
        const blocked = providers.length === 0 || others.some((o) => providers.every((p) => !recordMatches(o, p)));
        if (blocked) problems.push({ package: candidate, requires: dep, conflictsWith: others, nothingProvides: providers.length === 0 });
      }
    }
  }
  if (problems.length === 0) {
    problems.push({ package: null, requires: null, conflictsWith: requested, nothingProvides: false });
  }
  return problems;
}

function orderByDependencies(records, pipAvailable) {
  const byName = new Map(records.map((r) => [r.name, r]));
  const ordered = [];
  const seen = new Set();
  const visit = (rec) => {
    if (seen.has(rec.name)) return;
    seen.add(rec.name);
    for (const dep of dependenciesOf(rec, pipAvailable)) {
      // pip's own python dependency is visited first, so python always links before pip.
      const target = byName.get(dep.name);
      if (target && !(rec.name === "python" && dep.name === "pip")) visit(target);
    }
    ordered.push(rec);
  };
  const sorted = [...records].sort((a, b) => (a.name === "python" ? -1 : b.name === "python" ? 1 : a.name.localeCompare(b.name)));
  sorted.forEach(visit);
  return ordered;
}
