"""Utilities of the hypha_rpc subset served by the hypha-conda-worker bridge."""
