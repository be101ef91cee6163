/** When `start` returns: for a conda-jupyter-kernel app also once its cell ran; for a script, only for the service or its end. */
import { describe, expect, it } from "vitest";
import type { SessionInfo, SessionStatus, StartConfig } from "../../src/session/types.js";
import { waitUntilAppIsUp, type StartedSession } from "../../src/worker/wait-until-up.js";

function config(type: string, timeout: number): StartConfig {
  return { id: "ws/c1", app_id: "app", workspace: "ws", client_id: "c1", server_url: "http://127.0.0.1:9", timeout, manifest: { type } };
}

/** A running session whose service never comes; its cell returns (or fails) when `cell` settles. */
function sessionWhoseCell(cell: Promise<void>, status: () => SessionStatus = () => "running", error?: string): StartedSession {
  return {
    info: () => ({ status: status(), ...(error ? { error } : {}) }) as SessionInfo,
    waitForService: (id, timeoutMs) => new Promise((_, reject) => void setTimeout(() => reject(new Error(`service ${id} not registered within ${timeoutMs} ms`)), timeoutMs).unref()),
    whenMainDone: () => cell,
  };
}

describe("waitUntilAppIsUp", () => {
  it("a kernel app is up when its cell has run, without waiting for the service or warning", async () => {
    const warnings: string[] = [];
    await waitUntilAppIsUp(sessionWhoseCell(Promise.resolve()), config("conda-jupyter-kernel", 30), "default", (m) => warnings.push(m));
    expect(warnings).toEqual([]);
  });

  it("a script whose entry point returned still waits for the service and then warns", async () => {
    const warnings: string[] = [];
    await waitUntilAppIsUp(sessionWhoseCell(Promise.resolve()), config("conda-python", 0.2), "default", (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/did not register service 'default' within 0\.2 s/);
  });

  it("a kernel app whose cell failed fails the start with the session's error", async () => {
    let status: SessionStatus = "running";
    const cell = new Promise<void>((_, reject) => setTimeout(() => {
      status = "failed";
      reject(new Error("the app ended before its entry point returned"));
    }, 20));
    const session = sessionWhoseCell(cell, () => status, "The app exited with exit code 1. RuntimeError: init failed");
    await expect(waitUntilAppIsUp(session, config("conda-jupyter-kernel", 30), "default", () => undefined)).rejects.toThrow(/failed during start-up: .*RuntimeError: init failed/);
  });
});
