import { describe, expect, it } from "vitest";
import { buildChildEnv } from "../../src/session/child-env.js";

const config = { server_url: "http://hypha.test", workspace: "ws-a", client_id: "client-1", token: "app-token-123456", app_id: "hello" };

describe("buildChildEnv", () => {
  it("contains activation, basics, identity, pass-through and runner variables, and nothing else", () => {
    const env = buildChildEnv({
      activation: { PATH: "/env/bin:/usr/bin", CONDA_PREFIX: "/env" },
      config,
      passEnv: { OPERATOR_FLAG: "1" },
      runnerEnv: { HYPHA_BRIDGE_FD: "3" },
      parentEnv: { HOME: "/home/w", LANG: "C.UTF-8", HYPHA_TOKEN: "worker-token-999999", FOO_SECRET: "nope", AWS_SECRET_ACCESS_KEY: "nope" },
    });
    expect(env).toEqual({
      HOME: "/home/w",
      LANG: "C.UTF-8",
      PATH: "/env/bin:/usr/bin",
      CONDA_PREFIX: "/env",
      OPERATOR_FLAG: "1",
      HYPHA_SERVER_URL: "http://hypha.test",
      HYPHA_WORKSPACE: "ws-a",
      HYPHA_CLIENT_ID: "client-1",
      HYPHA_TOKEN: "app-token-123456",
      HYPHA_APP_ID: "hello",
      HYPHA_BRIDGE_FD: "3",
    });
  });

  it("never lets pass-through or activation replace the app identity, nor supply a missing token", () => {
    const env = buildChildEnv({
      activation: { HYPHA_WORKSPACE: "evil" },
      config: { ...config, token: undefined },
      passEnv: { HYPHA_TOKEN: "worker-token-999999", HYPHA_CLIENT_ID: "other" },
      runnerEnv: {},
      parentEnv: {},
    });
    expect(env.HYPHA_WORKSPACE).toBe("ws-a");
    expect(env.HYPHA_CLIENT_ID).toBe("client-1");
    expect(env).not.toHaveProperty("HYPHA_TOKEN");
  });

  it("refuses bad names and values", () => {
    const base = { activation: {}, config, runnerEnv: {}, parentEnv: {} };
    expect(() => buildChildEnv({ ...base, passEnv: { "BAD-NAME": "x" } })).toThrow(/Invalid environment variable name "BAD-NAME"/);
    expect(() => buildChildEnv({ ...base, passEnv: { OK: "a\0b" } })).toThrow(/without NUL/);
  });
});
