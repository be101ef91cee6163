"""Runner: handshake with the worker, run the entry point as __main__, then serve or exit.

Exit codes: 0 when the entry point returns without having connected (session completed) or after a
stop (SIGTERM); 1 with a traceback on stderr when it raises; the app's own code for SystemExit(n).
In kernel mode (HYPHA_BRIDGE_KERNEL=1, apps of upstream's type conda-jupyter-kernel) the entry point is
the kernel's first cell: once it returned, the process, its event loop and namespace stay until the stop.
"""
import os
import signal
import threading
import sys
import types
import builtins

from .execute import Executor
from .peer import Peer
from .remote import set_peer


_stopping = {"flag": False}
# Set once a kept app loop has no client left: no task pending on it and no bridge connection.
_app_loop_idle = threading.Event()


def _on_sigterm(signum, frame):
    _stopping["flag"] = True
    raise SystemExit(0)


def _stop_now(code, peer=None):
    # Stopped by the worker: leave without waiting for app threads still busy in calls.
    if peer is not None:
        peer.channel.drain(1.0)
    _flush()
    os._exit(code)


def _load_main_module(path):
    # Same as `python path` / runpy.run_path(run_name="__main__"), except the module stays in sys.modules so
    # execute() and the app's functions share one namespace (runpy hands back a copy of the globals).
    module = types.ModuleType("__main__")
    module.__file__ = path
    module.__builtins__ = builtins
    module.__spec__ = None
    module.__loader__ = None
    sys.modules["__main__"] = module
    return module


def _seed_kernel_namespace(namespace):
    # What upstream's kernel cell defines before the app's code: `os`, `sys` and `hypha_config`.
    namespace["os"] = os
    namespace["sys"] = sys
    keys = ("server_url", "workspace", "client_id", "token", "app_id")
    namespace["hypha_config"] = {key: os.environ.get("HYPHA_" + key.upper(), "") for key in keys}


def _strip_template_tags(source):
    # Upstream's worker unwraps <script ...>...</script> and <file ...>...</file> left in an entry point
    # written from a .hypha.html template; only such a file is touched (line numbers stay for the rest).
    if b"<script" not in source.lower() and b"<file" not in source.lower():
        return source
    import re

    for tag in (b"script", b"file"):
        source = re.sub(b"<" + tag + b"[^>]*>(.*?)</" + tag + b">", b"\\1", source, flags=re.DOTALL | re.IGNORECASE)
    return source.strip()


def _run_module_code(source, path, module, app_loop, kernel):
    # Upstream runs entry points as notebook cells, so `server = await connect_to_server(...)` at module
    # level is valid there: compile with top-level await and drive such code on an event loop of its own.
    # Returns True when the app's loop was kept running (the app still serves).
    code = compile(source, path, "exec", flags=_PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    if not code.co_flags & _CO_COROUTINE:
        exec(code, module.__dict__)
        return False
    import asyncio

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    app_loop.adopt(loop)  # cells that await while the entry point still runs share its loop
    loop.run_until_complete(eval(code, module.__dict__))
    # A client that connected by itself (the real hypha_rpc, any websocket client) lives in tasks still
    # pending on this loop; a kernel's loop lives on whatever the cell left (later cells run on it).
    serving = kernel or _bridge_connected() or any(not task.done() for task in asyncio.all_tasks(loop))
    if serving:
        # Like a kernel, the loop lives on for the app's tasks and async services; the main thread stays
        # free for execute(). A kernel keeps it until stop, another app while something on it still serves.
        if not kernel:
            loop.call_soon(_watch_app_loop, loop)
        threading.Thread(target=loop.run_forever, name="hypha-bridge-app-loop", daemon=True).start()
    else:
        app_loop.adopt(None)  # this loop stops here: later cells get one that runs
    return serving


def _watch_app_loop(loop):
    import asyncio

    if _bridge_connected() or any(not task.done() for task in asyncio.all_tasks(loop)):
        loop.call_later(0.5, _watch_app_loop, loop)
    else:
        _app_loop_idle.set()


_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE, without importing inspect at start-up
_PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (Python >= 3.8), without importing ast


def _bridge_connected():
    # The shim's server module (and asyncio with it) is imported only by apps that use it: keeps start-up fast.
    bridge_server = sys.modules.get("hypha_bridge.server")
    return bool(bridge_server is not None and bridge_server.state["connected"])


def _direct_hypha_rpc_in_use():
    # A real hypha_rpc (installed in the env) that still runs a background thread, e.g. hypha_rpc.sync's
    # event loop, is serving the app directly: keep the process alive like an upstream kernel would.
    real = sys.modules.get("hypha_rpc")
    if real is None or getattr(real, "__version__", "").endswith("hypha-conda-worker-bridge"):
        return False
    main = threading.main_thread()
    return any(t is not main and t.is_alive() and not t.name.startswith("hypha-bridge") for t in threading.enumerate())


def run(entry_point, fd):
    kernel = os.environ.pop("HYPHA_BRIDGE_KERNEL", "") == "1"
    peer = Peer(fd)
    set_peer(peer)
    path = os.path.abspath(entry_point)
    module = _load_main_module(path)
    if kernel:
        _seed_kernel_namespace(module.__dict__)
    # Ready for execute() before the handshake completes: the worker may send one right after it.
    peer.executor = Executor(peer, lambda: module.__dict__, lambda: _stopping["flag"])
    try:
        peer.start({"pid": os.getpid(), "python": "%d.%d.%d" % sys.version_info[:3]})
    except Exception as exc:
        sys.stderr.write("hypha bridge: handshake with the worker failed: %s\n" % exc)
        return 1
    signal.signal(signal.SIGTERM, _on_sigterm)
    sys.argv = [path] + sys.argv[2:]
    sys.path.insert(0, os.path.dirname(path))
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        if kernel:
            source = _strip_template_tags(source)
        loop_serving = _run_module_code(source, path, module, peer.executor.app_loop, kernel)
    except SystemExit as exc:
        if _stopping["flag"]:
            _stop_now(0, peer)
        _flush()
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except BaseException:
        import traceback

        traceback.print_exc()
        _flush()
        return 1
    connected = kernel or loop_serving or _bridge_connected() or _direct_hypha_rpc_in_use()
    peer.notify({"t": "main_done", "connected": bool(connected)})
    if not connected:
        peer.channel.drain(5.0)
        _flush()
        return 0
    try:
        peer.executor.serve_on_main(_EitherEvent(peer.closed, _app_loop_idle))
    except SystemExit:
        _stop_now(0, peer)
    if _app_loop_idle.is_set() and not peer.closed.is_set():
        # The app's own client disconnected and nothing else runs on its loop: the app is done.
        _stop_now(0, peer)
    sys.stderr.write("hypha bridge: the worker closed the channel; stopping\n")
    _stop_now(1 if peer.close_error else 0, peer)


class _EitherEvent:
    def __init__(self, *events):
        self._events = events

    def is_set(self):
        return any(event.is_set() for event in self._events)


def _flush():
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
