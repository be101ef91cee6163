/**
 * The yaml package, loaded on first use. Its ~75 modules and a cold first parse cost ~50-65 ms, which a
 * warm `run` of an app with a memoised manifest, or a worker start with no YAML to read, must not pay.
 * Loaded with require (yaml's Node entry is CommonJS) so that synchronous parsers can use it.
 */
import { createRequire } from "node:module";

type YamlModule = typeof import("yaml");

const require = createRequire(import.meta.url);
let loaded: YamlModule | undefined;

export function loadYaml(): YamlModule {
  loaded ??= require("yaml") as YamlModule;
  return loaded;
}
