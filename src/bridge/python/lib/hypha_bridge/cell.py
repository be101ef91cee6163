"""One notebook cell, as an IPython kernel runs it: top-level `await` allowed, the value of a final expression
(unless the cell ends with ";") reported as the cell's result, and coroutine code run on the app's event loop,
a loop that stays alive between cells so the tasks a cell starts keep running (as in a kernel)."""
import concurrent.futures
import threading

_CO_COROUTINE = 0x0080  # inspect.CO_COROUTINE
_PyCF_ALLOW_TOP_LEVEL_AWAIT = 0x2000  # ast.PyCF_ALLOW_TOP_LEVEL_AWAIT (Python >= 3.8)

NO_VALUE = object()  # the cell has no final expression, or it was silenced with ";"
_RESULT = "__hypha_bridge_cell_result__"


class AppLoop:
    """The app's event loop on a daemon thread of its own: adopted from a top-level-await entry point, or
    created on the first cell that needs one."""

    def __init__(self):
        self._lock = threading.Lock()
        self._loop = None

    def adopt(self, loop):
        with self._lock:
            self._loop = loop

    def get(self):
        with self._lock:
            if self._loop is None or self._loop.is_closed():
                import asyncio

                self._loop = asyncio.new_event_loop()
                # "hypha-bridge" names mark the runner's own threads (see main._direct_hypha_rpc_in_use).
                threading.Thread(target=self._loop.run_forever, name="hypha-bridge-app-loop", daemon=True).start()
            return self._loop


def run_cell(code, namespace, app_loop, filename="<execute>"):
    """Runs `code` in `namespace`; returns the final expression's value or NO_VALUE. Exceptions propagate."""
    import ast  # loaded on the first cell, not at start-up

    tree = compile(code, filename, "exec", flags=ast.PyCF_ONLY_AST | _PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    keeps_result = bool(tree.body) and isinstance(tree.body[-1], ast.Expr) and not _ends_with_semicolon(code)
    if keeps_result:
        # One code object for the whole cell (so one coroutine when it awaits anywhere): the final
        # expression's value is assigned to a hidden name and taken back out afterwards.
        last = tree.body[-1]
        tree.body[-1] = ast.copy_location(ast.Assign(targets=[ast.Name(id=_RESULT, ctx=ast.Store())], value=last.value), last)
        ast.fix_missing_locations(tree)
    namespace.pop(_RESULT, None)
    compiled = compile(tree, filename, "exec", flags=_PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)
    if compiled.co_flags & _CO_COROUTINE:
        await_on(app_loop.get(), eval(compiled, namespace))
    else:
        exec(compiled, namespace)
    value = namespace.pop(_RESULT, None) if keeps_result else None
    return NO_VALUE if value is None else value


def await_on(loop, coroutine):
    """Runs `coroutine` on `loop` (another thread) and waits, interruptibly: a timeout's signal or
    asynchronous exception lands in this wait, and then the coroutine is cancelled too."""
    import asyncio

    future = asyncio.run_coroutine_threadsafe(coroutine, loop)
    try:
        while not future.done():
            concurrent.futures.wait((future,), timeout=0.1)
    except BaseException:
        future.cancel()
        raise
    if future.cancelled():
        raise asyncio.CancelledError("the cell's coroutine was cancelled")
    error = future.exception()
    if error is not None:
        raise error  # its traceback starts in the cell's code, not in concurrent.futures
    return future.result()


def _ends_with_semicolon(code):
    # IPython shows no result for a cell whose last token is ";".
    import io
    import tokenize

    skip = (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.INDENT, tokenize.DEDENT)
    last = None
    try:
        for token in tokenize.generate_tokens(io.StringIO(code).readline):
            if token.type not in skip:
                last = token
    except (tokenize.TokenError, SyntaxError):
        return False
    return last is not None and last.type == tokenize.OP and last.string == ";"
