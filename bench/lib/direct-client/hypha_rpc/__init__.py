"""The benchmark's stand-in for the real hypha_rpc (connect_to_server only), so the direct variant runs the
same fixtures/apps/service/main.py as the bridged one. Used only when HYPHA_CONDA_TEST_HYPHA_RPC is unset."""
from direct_rpc import connect_to_server

__all__ = ["connect_to_server"]
