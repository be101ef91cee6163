// One error type for every failure the fakes report; render.mjs turns it into each flavour's exact output.
export class PmFailure extends Error {
  /**
   * kind: usage | missing-package | unsatisfiable | channel-unreachable | channel-invalid | pkgs-dir-missing |
   *       non-conda-prefix | prefix-exists | corrupted-package | pip-failed | bad-env-file | no-specs
   */
  constructor(kind, data = {}) {
    super(`${kind}: ${JSON.stringify(data)}`);
    this.kind = kind;
    this.data = data;
  }
}
