import { describe, expect, it } from "vitest";
import { cacheMountOf, findCacheMount } from "../../../src/env/operator/cache-mount.js";

// Lines in the format Linux writes to /proc/mounts (fs/nfs/super.c prints ac* options only when not default).
const MOUNTS = [
  "overlay / overlay rw,relatime,lowerdir=/l,upperdir=/u,workdir=/w 0 0",
  "tmpfs /tmp tmpfs rw,nosuid,nodev 0 0",
  "filer:/export/cache /mnt/hcw nfs4 rw,relatime,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.5,local_lock=none,addr=10.0.0.2 0 0",
  "filer:/export/fast /mnt/fast nfs rw,relatime,vers=3,rsize=65536,wsize=65536,namlen=255,acregmin=1,acregmax=1,acdirmin=1,acdirmax=1,hard,proto=tcp 0 0",
  "filer:/export/noac /mnt/no\\040ac nfs rw,sync,relatime,vers=3,acregmin=0,acregmax=0,acdirmin=0,acdirmax=0,hard,noac,proto=tcp 0 0",
].join("\n");

describe("findCacheMount", () => {
  it("picks the longest mount point holding the cache", () => {
    expect(findCacheMount(MOUNTS, "/srv/cache")).toEqual({ mountPoint: "/", type: "overlay" });
    expect(findCacheMount(MOUNTS, "/tmp/x/cache")).toEqual({ mountPoint: "/tmp", type: "tmpfs" });
    // "/tmpfoo" is not under "/tmp".
    expect(findCacheMount(MOUNTS, "/tmpfoo/cache")).toEqual({ mountPoint: "/", type: "overlay" });
  });

  it("reads an NFS mount's directory attribute cache: the 60 s default when not printed, actimeo=1, noac", () => {
    expect(findCacheMount(MOUNTS, "/mnt/hcw/cache")).toEqual({ mountPoint: "/mnt/hcw", type: "nfs4", dirAttributeCacheSeconds: 60 });
    expect(findCacheMount(MOUNTS, "/mnt/fast/c")).toMatchObject({ type: "nfs", dirAttributeCacheSeconds: 1 });
    expect(findCacheMount(MOUNTS, "/mnt/no ac/c")).toMatchObject({ mountPoint: "/mnt/no ac", dirAttributeCacheSeconds: 0 });
  });

  it("finds this machine's mount of a real directory", async () => {
    expect(await cacheMountOf(process.cwd())).toMatchObject({ mountPoint: expect.stringMatching(/^\//), type: expect.any(String) });
  });
});
