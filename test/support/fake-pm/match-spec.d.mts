// Types for match-spec.mjs, so TypeScript tests can exercise the fake's spec parser in-process.
export class SpecSyntaxError extends Error {}
export interface MatchSpec {
  raw: string;
  channel?: string;
  name: string;
  version?: string;
  build?: string;
}
export interface SpecRecord {
  name: string;
  version: string;
  build: string;
}
export function parseMatchSpec(raw: string): MatchSpec;
export function recordMatches(spec: MatchSpec, record: SpecRecord): boolean;
export function formatSpecSpaced(spec: MatchSpec): string;
export function formatSpecBracketed(spec: MatchSpec): string;
export function compareVersions(a: string, b: string): -1 | 0 | 1;
