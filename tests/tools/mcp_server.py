"""A tiny MCP server for the tests (official SDK, FastMCP, stdio)."""

from mcp.server.fastmcp import FastMCP

server = FastMCP("inventory")
STOCK = {"apple": 12, "pear": 0}


@server.tool()
def stock(item: str) -> int:
    """How many of `item` are in stock."""
    if item not in STOCK:
        raise ValueError(f"unknown item {item!r}")
    return STOCK[item]


@server.tool()
def items() -> list[str]:
    """Every item the inventory knows."""
    return sorted(STOCK)


if __name__ == "__main__":
    server.run("stdio")
