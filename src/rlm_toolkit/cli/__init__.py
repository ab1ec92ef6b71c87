"""The `rlm` command line."""
