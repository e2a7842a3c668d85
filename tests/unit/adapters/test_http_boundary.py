"""Only adapters speak HTTP through a client library: no other module of chaoskit imports one."""

from __future__ import annotations

import ast
from pathlib import Path

import chaoskit

PACKAGE = Path(chaoskit.__file__).parent
HTTP_CLIENTS = ("requests", "urllib.request", "urllib3", "http.client", "httpx", "aiohttp")


def imported(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_only_adapters_import_an_http_client() -> None:
    """Every module importing requests, urllib.request, urllib3, http.client, httpx or aiohttp is in adapters/."""
    offenders = sorted(
        f"{path.relative_to(PACKAGE)}: {name}"
        for path in PACKAGE.rglob("*.py")
        if path.parent.name != "adapters"
        for name in imported(path)
        if any(name == client or name.startswith(client + ".") for client in HTTP_CLIENTS)
    )
    assert offenders == []
