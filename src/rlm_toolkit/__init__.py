"""rlm_toolkit."""
