"""execute(): runs code in the app's __main__ namespace as a notebook cell (see cell.py), one execution at a
time, and answers in the shape of upstream's kernel: `status`, `outputs` (`stream` with name/text, then the
final expression's `execute_result` with `data: {"text/plain": repr}`, `metadata`, `execution_count`) and,
on failure, `error` with `ename`, `evalue`, `traceback`. Output is captured for the executing thread and
for the tasks the cell runs on the app's event loop (a context variable), while the cell runs.

Where it runs: on the main thread while that thread idles in the runner (the entry point returned, or the
app sits in the sync serve()); otherwise on one dedicated thread. A timeout raises ExecutionTimeout in the
executing thread: on the main thread through a real signal (SIGUSR2), which also breaks blocking calls such
as time.sleep; on the dedicated thread as an asynchronous exception, which stops Python code between
bytecodes (a call blocked inside C only sees it when the call returns).
"""
import concurrent.futures
import contextvars
import queue
import signal
import sys
import threading

from .cell import NO_VALUE, AppLoop, run_cell
from .codec import format_app_traceback


class ExecutionTimeout(BaseException):
    """Raised inside an execution that ran past its timeout (a BaseException, so `except Exception` keeps out)."""


class Capture:
    """The outputs of one execution; closed when it ends, so late writes of its tasks go to the logs."""

    def __init__(self):
        self.outputs = []
        self.open = True

    def add_stream(self, name, text):
        last = self.outputs[-1] if self.outputs else None
        if last is not None and last["type"] == "stream" and last["name"] == name:
            last["text"] += text
        else:
            self.outputs.append({"type": "stream", "name": name, "text": text})


_capture = contextvars.ContextVar("hypha_bridge_capture", default=None)


class RoutingStream:
    """sys.stdout/stderr replacement: writes made for a running execution are captured, all others pass through."""

    def __init__(self, real, name):
        self._real = real
        self._name = name

    def write(self, text):
        capture = _capture.get()
        if capture is None or not capture.open:
            return self._real.write(text)
        capture.add_stream(self._name, text)
        return len(text)

    def flush(self):
        self._real.flush()

    def __getattr__(self, name):
        return getattr(self._real, name)


class Executor:
    def __init__(self, peer, namespace, stopping):
        self._peer = peer
        self._namespace = namespace
        self._stopping = stopping
        self.app_loop = AppLoop()
        self._count = 1  # the entry point is the first cell, as upstream runs it in the kernel
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hypha-bridge-execute")
        self._lock = threading.RLock()  # re-entered by the SIGUSR2 handler on the main thread
        self._serial = threading.Lock()
        self._main_jobs = queue.Queue()
        self._main_idle = False
        self._running_id = None
        self._thread_id = None
        self._main_ident = threading.main_thread().ident
        self._signal_ok = signal.getsignal(signal.SIGUSR2) in (signal.SIG_DFL, None)
        if self._signal_ok:
            signal.signal(signal.SIGUSR2, self._on_interrupt_signal)
        sys.stdout = RoutingStream(sys.stdout, "stdout")
        sys.stderr = RoutingStream(sys.stderr, "stderr")

    def submit(self, message):
        with self._lock:
            if self._main_idle:
                self._main_jobs.put(message)
                return
        self._pool.submit(self._run, message)

    def serve_on_main(self, stop_event):
        """Main thread: idle until `stop_event`, running executions handed to it meanwhile."""
        with self._lock:
            self._main_idle = self._signal_ok
        try:
            while not stop_event.is_set():
                try:
                    message = self._main_jobs.get(timeout=1.0)
                except queue.Empty:
                    continue
                try:
                    self._run(message)
                except ExecutionTimeout:
                    pass  # a late interrupt after the reply went out
        finally:
            with self._lock:
                self._main_idle = False
                left = []
                while not self._main_jobs.empty():
                    left.append(self._main_jobs.get_nowait())
            for message in left:
                self._pool.submit(self._run, message)

    def interrupt(self, target):
        with self._lock:
            if target is None or target != self._running_id or self._thread_id is None:
                return
            ours = signal.getsignal(signal.SIGUSR2) == self._on_interrupt_signal
            if self._thread_id == self._main_ident and ours:
                signal.pthread_kill(self._main_ident, signal.SIGUSR2)
            else:  # the dedicated thread, or the app replaced our SIGUSR2 handler
                import ctypes  # only here: a Python built without ctypes still runs apps, just without this

                ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), ctypes.py_object(ExecutionTimeout))

    def _on_interrupt_signal(self, signum, frame):
        with self._lock:
            running = self._running_id is not None and self._thread_id == self._main_ident
        if running:
            raise ExecutionTimeout()

    def _run(self, message):
        capture = Capture()
        outputs = capture.outputs
        with self._serial:
            self._count += 1
            token = _capture.set(capture)
            try:
                reply = self._run_code(message.get("id"), message.get("code", ""), outputs, self._count)
            except ExecutionTimeout as exc:  # landed just outside the user code: still a timeout
                reply = {"status": "error", "outputs": outputs, "error": self._describe(exc)}
            finally:
                capture.open = False
                _capture.reset(token)
        self._peer.notify({"t": "ok", "id": message.get("id"), "v": reply})

    def _run_code(self, exec_id, code, outputs, count):
        try:
            with self._lock:
                self._running_id = exec_id
                self._thread_id = threading.get_ident()
            try:
                value = run_cell(code, self._namespace(), self.app_loop)
            finally:
                with self._lock:
                    self._running_id = None
                    self._thread_id = None
            if value is not NO_VALUE:
                outputs.append({"type": "execute_result", "data": {"text/plain": _plain_text(value)},
                                "metadata": {}, "execution_count": count})
            return {"status": "ok", "outputs": outputs}
        except SystemExit:
            if self._stopping():
                raise  # the worker is stopping the app (SIGTERM), not the executed code
            return {"status": "error", "outputs": outputs,
                    "error": {"ename": "SystemExit", "evalue": "the code called sys.exit(); the app keeps running",
                              "traceback": []}}
        except BaseException as exc:  # the app keeps running whatever the code raised
            return {"status": "error", "outputs": outputs, "error": self._describe(exc)}

    @staticmethod
    def _describe(exc):
        lines = format_app_traceback(exc)
        if isinstance(exc, ExecutionTimeout):
            return {"ename": "TimeoutError", "evalue": "execution interrupted after its timeout; the app keeps running",
                    "traceback": lines}
        return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": lines}


def _plain_text(value):
    try:
        return repr(value)
    except BaseException as exc:  # a broken __repr__ must not lose the execution's answer
        return "<%s object (repr failed: %s: %s)>" % (type(value).__name__, type(exc).__name__, exc)
