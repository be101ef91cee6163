/** Bundles a TypeScript entry (and the src/ it imports) into one runnable .mjs for child processes. */
import path from "node:path";
import { build, type Plugin } from "esbuild";

// src/yaml-lazy.ts loads yaml with createRequire(import.meta.url), which esbuild cannot follow and which
// would resolve from the bundle's temp dir: in a bundle, yaml is imported statically instead.
const bundleYamlStatically: Plugin = {
  name: "bundle-yaml-statically",
  setup(builder) {
    builder.onLoad({ filter: /[\\/]src[\\/]yaml-lazy\.ts$/ }, (args) => ({
      contents: 'import * as yaml from "yaml";\nexport function loadYaml() { return yaml; }\n',
      loader: "ts",
      resolveDir: path.dirname(args.path),
    }));
  },
};

export async function bundleForNode(entry: string, outfile: string): Promise<string> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    logLevel: "silent",
    plugins: [bundleYamlStatically],
    // proper-lockfile and friends are CommonJS and require() node built-ins.
    banner: { js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);" },
  });
  return outfile;
}
