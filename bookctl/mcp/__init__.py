"""The book for AI assistants: an MCP server over the same services as the API (see docs/mcp.md).

`server.build_server(deps)` makes the server; `mount.mcp_mount(deps)` puts it in the API app at /mcp;
`bookctl mcp serve` (bookctl/cli/mcp.py) runs it on stdio, streamable HTTP or SSE.
"""
