"""execute(): runs code in the app's __main__ namespace, one execution at a time, capturing its output.

Where it runs: on the main thread while that thread idles in the runner (the entry point returned, or the
app sits in the sync serve()); otherwise on one dedicated thread. A timeout raises ExecutionTimeout in the
executing thread: on the main thread through a real signal (SIGUSR2), which also breaks blocking calls such
as time.sleep; on the dedicated thread as an asynchronous exception, which stops Python code between
bytecodes (a call blocked inside C only sees it when the call returns).
"""
import concurrent.futures
import queue
import signal
import sys
import threading

from .codec import format_app_traceback


class ExecutionTimeout(BaseException):
    """Raised inside an execution that ran past its timeout (a BaseException, so `except Exception` keeps out)."""


class RoutingStream:
    """sys.stdout/stderr replacement: writes from the execute thread are captured, all others pass through."""

    def __init__(self, real, name, local):
        self._real = real
        self._name = name
        self._local = local

    def write(self, text):
        outputs = getattr(self._local, "outputs", None)
        if outputs is None:
            return self._real.write(text)
        if outputs and outputs[-1]["name"] == self._name:
            outputs[-1]["text"] += text
        else:
            outputs.append({"type": "stream", "name": self._name, "text": text})
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
        self._local = threading.local()
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
        sys.stdout = RoutingStream(sys.stdout, "stdout", self._local)
        sys.stderr = RoutingStream(sys.stderr, "stderr", self._local)

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
        outputs = []
        with self._serial:
            self._local.outputs = outputs
            try:
                reply = self._run_code(message.get("id"), message.get("code", ""), outputs)
            except ExecutionTimeout as exc:  # landed just outside the user code: still a timeout
                reply = {"status": "error", "outputs": outputs, "error": self._describe(exc)}
            finally:
                self._local.outputs = None
        self._peer.notify({"t": "ok", "id": message.get("id"), "v": reply})

    def _run_code(self, exec_id, code, outputs):
        try:
            with self._lock:
                self._running_id = exec_id
                self._thread_id = threading.get_ident()
            try:
                result = self._execute(code)
            finally:
                with self._lock:
                    self._running_id = None
                    self._thread_id = None
            reply = {"status": "ok", "outputs": outputs}
            if result is not None:
                reply["result"] = result
            return reply
        except SystemExit:
            if self._stopping():
                raise  # the worker is stopping the app (SIGTERM), not the executed code
            return {"status": "error", "outputs": outputs,
                    "error": {"ename": "SystemExit", "evalue": "the code called sys.exit(); the app keeps running",
                              "traceback": []}}
        except BaseException as exc:  # the app keeps running whatever the code raised
            return {"status": "error", "outputs": outputs, "error": self._describe(exc)}

    def _execute(self, code):
        namespace = self._namespace()
        import ast  # loaded on the first execute(), not at start-up

        tree = ast.parse(code, filename="<execute>", mode="exec")
        last = None
        if tree.body and isinstance(tree.body[-1], ast.Expr):
            last = ast.Expression(tree.body.pop().value)
        exec(compile(tree, "<execute>", "exec"), namespace)
        if last is None:
            return None
        value = eval(compile(last, "<execute>", "eval"), namespace)
        return None if value is None else repr(value)

    @staticmethod
    def _describe(exc):
        lines = format_app_traceback(exc)
        if isinstance(exc, ExecutionTimeout):
            return {"ename": "TimeoutError", "evalue": "execution interrupted after its timeout; the app keeps running",
                    "traceback": lines}
        return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": lines}
