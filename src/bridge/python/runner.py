"""hypha-conda-worker bridge runner: `python -u runner.py <entry_point> [args...]` with the channel on
the fd named by HYPHA_BRIDGE_FD. Stdlib only; works on Python >= 3.8."""
import os
import sys


def _prepare_path():
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != here]
    # After site-packages: a real hypha_rpc installed in the env wins over the bridge's.
    sys.path.append(os.path.join(here, "lib"))


def _main():
    if len(sys.argv) < 2:
        sys.stderr.write("usage: runner.py <entry_point> [args...] (started by hypha-conda-worker)\n")
        return 2
    fd_text = os.environ.get("HYPHA_BRIDGE_FD", "")
    if not fd_text.isdigit():
        sys.stderr.write("runner.py: HYPHA_BRIDGE_FD must name the bridge channel's file descriptor (e.g. 3)\n")
        return 2
    _prepare_path()
    from hypha_bridge.main import run

    return run(sys.argv[1], int(fd_text))


if __name__ == "__main__":
    sys.exit(_main())
