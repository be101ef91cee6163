"""Runtime of the hypha-conda-worker bridge (stdlib only): framing, value codec, peer, runner."""
PROTOCOL_VERSION = 1
