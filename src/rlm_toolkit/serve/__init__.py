"""Servers over an RLM: an OpenAI-compatible HTTP API (`rlm serve`) and an MCP server (`rlm mcp`).

Both need extras (`pip install rlm-toolkit[serve]`, `rlm-toolkit[mcp]`); importing this package
alone needs neither.
"""
