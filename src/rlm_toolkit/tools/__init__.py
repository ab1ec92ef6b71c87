"""Host tools: the user's functions and MCP servers' tools, callable from model code.

Tools run on the host, never in the jail. Model code calls a stub by the tool's name; the
stub sends the JSON arguments over the channel; the engine counts the call against the
budget, traces it and calls the tool here. Nothing in this package knows the engine.
"""

from .base import ToolSpec
from .box import ToolBox, ToolsSpec
from .functions import FunctionTools
from .mcp import MCPServer

__all__ = ["FunctionTools", "MCPServer", "ToolBox", "ToolSpec", "ToolsSpec"]
