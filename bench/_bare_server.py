"""The baseline for bench.signaling: the least a Python WebSocket server can do.

A bare `websockets` server over TLS on 127.0.0.1, on uvloop like `conclave serve` and
without permessage-deflate like it (the client offers it, both decline), that
answers `hello` with a `session` and a `welcome` and relays `chat` to everyone on the same
path, in Conclave's message shapes. No authentication, database, validation or room
logic: the benchmark client measured against it shows the cost of the client, TLS and
the WebSocket library alone.

Run by bench.signaling: `python -m bench._bare_server PORT CERT KEY`.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import secrets
import ssl
import sys
import time
from collections import defaultdict

from websockets.asyncio.server import ServerConnection, broadcast, serve

MAX_MESSAGES = 1_000_000  # per connection, a bound for the receive loop
ROOMS: defaultdict[str, set[ServerConnection]] = defaultdict(set)
CHAT_IDS = itertools.count(1)


async def handle(ws: ServerConnection) -> None:
    path = ws.request.path if ws.request else "/"
    hello = json.loads(await ws.recv())
    if hello.get("type") != "hello":
        return
    pid = secrets.token_urlsafe(9)
    room = ROOMS[path]
    await ws.send(json.dumps({"type": "session", "name": pid, "ice_servers": []}))
    await ws.send(json.dumps({"type": "welcome", "version": 1, "you": pid, "participants": []}))
    room.add(ws)
    try:
        for _ in range(MAX_MESSAGES):
            message = json.loads(await ws.recv())
            if message.get("type") == "chat":
                relay = {
                    "type": "chat",
                    "from": pid,
                    "name": pid,
                    "text": message["text"],
                    "id": next(CHAT_IDS),
                    "ts": int(time.time() * 1000),
                }
                broadcast(room, json.dumps(relay, separators=(",", ":")))
    finally:
        room.discard(ws)


async def main(port: int, cert: str, key: str) -> None:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    async with serve(
        handle, "127.0.0.1", port, ssl=context, ping_interval=None, compression=None
    ) as server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        import uvloop
    except ImportError:
        asyncio.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
    else:
        uvloop.run(main(int(sys.argv[1]), sys.argv[2], sys.argv[3]))
