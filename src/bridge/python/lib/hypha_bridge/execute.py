"""execute(): runs code in the app's __main__ namespace on one dedicated thread, capturing its output.

A timeout raises ExecutionTimeout inside that thread (an asynchronous exception), which stops Python code
between bytecodes without touching the rest of the app. A call blocked inside C (e.g. a long sleep) only
sees it when the call returns.
"""
import ast
import concurrent.futures
import ctypes
import sys
import threading
import traceback

from .codec import format_app_traceback


class ExecutionTimeout(Exception):
    """Raised inside an execution that ran past its timeout."""


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
    def __init__(self, peer, namespace):
        self._peer = peer
        self._namespace = namespace
        self._local = threading.local()
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="hypha-bridge-execute")
        self._lock = threading.Lock()
        self._running_id = None
        self._thread_id = None
        sys.stdout = RoutingStream(sys.stdout, "stdout", self._local)
        sys.stderr = RoutingStream(sys.stderr, "stderr", self._local)

    def submit(self, message):
        self._pool.submit(self._run, message)

    def interrupt(self, target):
        with self._lock:
            if target is None or target != self._running_id or self._thread_id is None:
                return
            ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(self._thread_id), ctypes.py_object(ExecutionTimeout))

    def _run(self, message):
        outputs = []
        self._local.outputs = outputs
        with self._lock:
            self._running_id = message.get("id")
            self._thread_id = threading.get_ident()
        try:
            result = self._execute(message.get("code", ""))
            reply = {"status": "ok", "outputs": outputs}
            if result is not None:
                reply["result"] = result
        except BaseException as exc:  # the app keeps running whatever the code raised
            reply = {"status": "error", "outputs": outputs, "error": self._describe(exc, message)}
        finally:
            with self._lock:
                self._running_id = None
                self._thread_id = None
            self._local.outputs = None
        self._peer.notify({"t": "ok", "id": message.get("id"), "v": reply})

    def _execute(self, code):
        namespace = self._namespace()
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
    def _describe(exc, message):
        lines = format_app_traceback(exc)
        if isinstance(exc, ExecutionTimeout):
            return {"ename": "TimeoutError", "evalue": "execution interrupted after its timeout; the app keeps running",
                    "traceback": lines}
        return {"ename": type(exc).__name__, "evalue": str(exc), "traceback": lines}
