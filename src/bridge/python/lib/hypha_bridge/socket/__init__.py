"""The app's own socket to Hypha: the worker's hypha-rpc speaks through it, and calls to the app's
plain functions are answered here, without a hop through the worker (docs/bridge.md, "Own socket")."""
