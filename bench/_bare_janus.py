"""The baseline of bench.sfu: browsers that talk to a Janus directly, no Conclave.

`BareJanus` runs a Janus the way `conclave serve` runs one (conclave.media.janus_managed's
ManagedJanus: the same generated configuration, VideoRoom plugin and HTTP transport on
127.0.0.1, a random api_secret and admin_key), on an event loop in a thread of the
benchmark process, and creates a plain VideoRoom room with the admin key (no E2EE
requirement, no PIN). Conclave's own server is not involved.

`PAGE` is the participant page, served by a small HTTP server on 127.0.0.1 in the benchmark
process (`BareJanus.page_url`; http://127.0.0.1 is a secure context, so getUserMedia gives
Chromium's fake camera, and a loopback page may fetch from another loopback port: Chromium
refuses a page that Playwright fulfils itself access to the loopback address space, as a
public page). It speaks Janus's HTTP API itself with
`fetch`: create a session, long-poll it for events, attach a VideoRoom handle, publish
camera and microphone with `joinandconfigure` (the same 640x480 camera and the same three
simulcast layers as Conclave's room page), trickle its ICE candidates, subscribe to every
publisher in the room on one receiving connection (`join` as subscriber, later `update`),
and answer Janus's offers with `start`. No frame transforms (nothing to encrypt).
"""

from __future__ import annotations

import asyncio
import secrets
import threading
from collections.abc import Coroutine
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import httpx

from conclave.config import load_settings
from conclave.media.janus_managed import ManagedJanus

T = TypeVar("T")
PLUGIN = "janus.plugin.videoroom"


class BareJanus:
    """A ManagedJanus on its own event loop (a daemon thread), for synchronous callers."""

    def __init__(self, data_dir: Path) -> None:
        settings = load_settings(None, data_dir=data_dir).media.janus
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="bare-janus", daemon=True)
        self.thread.start()
        self.janus = ManagedJanus(settings, data_dir)
        try:
            self._run(self.janus.start())
        except BaseException:
            self.stop()
            raise
        endpoint = self.janus.endpoint
        self.url, self.secret, self.admin_key = (
            endpoint.url,
            endpoint.api_secret,
            endpoint.admin_key,
        )
        self.pages = ThreadingHTTPServer(("127.0.0.1", 0), _PageHandler)
        self.page_url = f"http://127.0.0.1:{self.pages.server_address[1]}/"
        self.page_thread = threading.Thread(
            target=self.pages.serve_forever, name="bare-janus-page", daemon=True
        )
        self.page_thread.start()

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout=60)

    @property
    def pid(self) -> int:
        pid = self.janus.pid
        if pid is None:
            raise RuntimeError("the bare Janus is not running")
        return pid

    def _request(self, client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "transaction": secrets.token_hex(6), "apisecret": self.secret}
        reply: dict[str, Any] = client.post(self.url + path, json=body, timeout=10).json()
        if reply.get("janus") == "error":
            raise RuntimeError(f"Janus refused {body.get('janus')}: {reply.get('error')}")
        return reply

    def _videoroom(self, body: dict[str, Any]) -> dict[str, Any]:
        """One synchronous VideoRoom request on a short-lived session."""
        with httpx.Client() as client:
            session = self._request(client, "", {"janus": "create"})["data"]["id"]
            try:
                handle = self._request(
                    client, f"/{session}", {"janus": "attach", "plugin": PLUGIN}
                )["data"]["id"]
                reply = self._request(
                    client, f"/{session}/{handle}", {"janus": "message", "body": body}
                )
            finally:
                self._request(client, f"/{session}", {"janus": "destroy"})
        data: dict[str, Any] = reply["plugindata"]["data"]
        if "error" in data:
            raise RuntimeError(f"VideoRoom refused {body['request']}: {data['error']}")
        return data

    def create_room(self, publishers: int) -> int:
        room = secrets.randbelow(2**52) + 1
        self._videoroom(
            {
                "request": "create",
                "room": room,
                "admin_key": self.admin_key,
                "publishers": publishers,
                "is_private": True,
                "permanent": False,
            }
        )
        return room

    def destroy_room(self, room: int) -> None:
        self._videoroom({"request": "destroy", "room": room})

    def stop(self) -> None:
        if hasattr(self, "pages"):
            self.pages.shutdown()
            self.pages.server_close()
        try:
            if self.loop.is_running():
                self._run(self.janus.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(timeout=10)
            self.loop.close()


class _PageHandler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return


# The participant page. window.bare.join(url, secret, room) starts a join (the caller then
# times it with JOIN_CLOCK's __firstFrames); window.bare.leave() destroys the session.
PAGE = """<!doctype html><meta charset=utf-8><title>bare Janus</title>
<script>
window.bare = (() => {
  const SIMULCAST = [
    {rid: "h", scaleResolutionDownBy: 1},
    {rid: "m", scaleResolutionDownBy: 2},
    {rid: "l", scaleResolutionDownBy: 4},
  ];
  const s = {url: null, secret: null, room: null, session: null, pubHandle: null,
             subHandle: null, pub: null, sub: null, stream: null, feed: null,
             feeds: new Set(), waiting: new Map(), queue: Promise.resolve(), error: null};
  const tx = () => Math.random().toString(36).slice(2, 12);
  const post = async (path, body) => {
    const reply = await (await fetch(s.url + path, {method: "POST",
      body: JSON.stringify({...body, transaction: body.transaction || tx(),
                            apisecret: s.secret})})).json();
    if (reply.janus === "error") throw new Error(JSON.stringify(reply.error));
    return reply;
  };
  // A plugin request: Janus answers "success" at once or "ack" and later an event with
  // the same transaction (delivered by the long poll).
  const message = async (handle, body, jsep) => {
    const transaction = tx();
    const later = new Promise((resolve, reject) => s.waiting.set(transaction, {resolve, reject}));
    const reply = await post(`/${s.session}/${handle}`,
                             {janus: "message", body, jsep, transaction});
    if (reply.janus === "success") { s.waiting.delete(transaction); return reply; }
    return later;
  };
  const trickle = (handle, candidate) => {
    post(`/${s.session}/${handle}`,
         {janus: "trickle", candidate: candidate ? candidate.toJSON() : {completed: true}})
      .catch(error => { s.error = String(error); });
  };
  const onEvent = (event) => {
    if (event.janus !== "event") return;
    const data = (event.plugindata || {}).data || {};
    const waiter = event.transaction && s.waiting.get(event.transaction);
    if (waiter) {
      s.waiting.delete(event.transaction);
      if (data.error) waiter.reject(new Error(data.error)); else waiter.resolve(event);
      return;
    }
    if (event.sender === s.pubHandle && data.publishers) subscribe(data.publishers);
  };
  const poll = async () => {
    for (let i = 0; i < 100000 && s.session; i++) {  // bounded; 30 s per empty poll
      const session = s.session;
      let events;
      try {
        const url = `${s.url}/${session}?maxev=10&rid=${Date.now()}` +
                    `&apisecret=${encodeURIComponent(s.secret)}`;
        events = await (await fetch(url)).json();
      } catch (error) {
        if (s.session) s.error = "long poll: " + error;
        return;
      }
      for (const event of Array.isArray(events) ? events : [events]) onEvent(event);
    }
  };
  const attach = async () =>
    (await post(`/${s.session}`, {janus: "attach", plugin: "janus.plugin.videoroom"})).data.id;
  // New publishers go onto the one receiving connection, one renegotiation at a time.
  const subscribe = (publishers) => {
    s.queue = s.queue.then(async () => {
      const fresh = publishers.map(p => p.id).filter(id => id !== s.feed && !s.feeds.has(id));
      if (!fresh.length) return;
      fresh.forEach(id => s.feeds.add(id));
      let event;
      if (s.subHandle === null) {
        s.subHandle = await attach();
        event = await message(s.subHandle, {request: "join", ptype: "subscriber", room: s.room,
                                            streams: fresh.map(feed => ({feed}))});
      } else {
        event = await message(s.subHandle, {request: "update",
                                            subscribe: fresh.map(feed => ({feed}))});
      }
      if (!event.jsep) return;
      if (s.sub === null) {
        s.sub = new RTCPeerConnection();
        s.sub.onicecandidate = (e) => trickle(s.subHandle, e.candidate);
      }
      await s.sub.setRemoteDescription(event.jsep);
      await s.sub.setLocalDescription(await s.sub.createAnswer());
      await message(s.subHandle, {request: "start"}, s.sub.localDescription);
    }).catch(error => { s.error = "subscribe: " + error; });
  };
  return {
    async camera() {
      s.stream = await navigator.mediaDevices.getUserMedia(
        {video: {width: 640, height: 480}, audio: true});
    },
    join(url, secret, room) {
      window.__joinAt = performance.now();
      Object.assign(s, {url, secret, room});
      (async () => {
        s.session = (await post("", {janus: "create"})).data.id;
        poll();
        s.pubHandle = await attach();
        s.pub = new RTCPeerConnection();
        s.pub.onicecandidate = (e) => trickle(s.pubHandle, e.candidate);
        s.pub.addTransceiver(s.stream.getAudioTracks()[0], {direction: "sendonly"});
        s.pub.addTransceiver(s.stream.getVideoTracks()[0],
                             {direction: "sendonly", sendEncodings: SIMULCAST});
        await s.pub.setLocalDescription();
        const event = await message(s.pubHandle, {request: "joinandconfigure",
          ptype: "publisher", room: room, audio: true, video: true}, s.pub.localDescription);
        const data = event.plugindata.data;
        s.feed = data.id;
        await s.pub.setRemoteDescription(event.jsep);
        subscribe(data.publishers || []);
      })().catch(error => { s.error = "join: " + error; });
    },
    error: () => s.error,
    async leave() {
      const session = s.session;
      s.session = null;
      for (const pc of [s.pub, s.sub]) if (pc) pc.close();
      if (session) {
        await fetch(`${s.url}/${session}`, {method: "POST", body: JSON.stringify(
          {janus: "destroy", transaction: tx(), apisecret: s.secret})}).catch(() => {});
      }
    },
  };
})();
</script>
"""
