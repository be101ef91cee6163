/** Package-manager adapters: detection, argv per flavour, running, diagnosis. */
export * from "./detect.js";
export * from "./argv.js";
export * from "./run-tool.js";
export * from "./diagnose.js";
export * from "./faces.js";
