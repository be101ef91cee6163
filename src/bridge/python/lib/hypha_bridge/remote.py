"""Functions owned by the worker side, as Python callables; the process-wide bridge peer."""


class RemoteException(Exception):
    """A call to a remote function (Hypha service, callback, the worker) failed on the other side."""


class RemoteFunction:
    """A function owned by the worker side (a Hypha service method or a callback)."""

    def __init__(self, peer, ref):
        self._peer = peer
        self._bridge_remote_id = ref["id"]
        self.__name__ = ref.get("name") or "remote_function"

    def __call__(self, *args, **kwargs):
        future = self._peer.request({"t": "call", "fn": self._bridge_remote_id}, args=list(args), kwargs=kwargs)
        return self._peer.deliver(future)

    def __repr__(self):
        return "<remote function %s>" % self.__name__


_peer = None


def set_peer(peer):
    global _peer
    _peer = peer


def get_peer():
    if _peer is None:
        raise RuntimeError("this hypha_rpc is the hypha-conda-worker bridge and works only inside an app started by "
                           "the worker; install the real hypha-rpc (pip install hypha-rpc) to connect directly")
    return _peer
