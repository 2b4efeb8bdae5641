"""Page and worker scripts the E2EE benchmark injects (the product has none of these)."""

from __future__ import annotations

# Init script of every benchmark page. Records the page's peer connections in
# window.__pcs (what tests/support/room.py reads) and the moments of a join, in ms of
# performance.now(): the click on Join (the pre-join form's submit), the `welcome` on the
# WebSocket, the first offer or answer sent ("pc"), the first remote description (offer or answer)
# set on one, the first connected one, and the first remote
# video packet (a remote track unmutes on its first packet, before any frame transform).
# Keeps the frame worker's last per-second report for diagnostics.
JOIN_CLOCK = """
window.__pcs = [];
window.__joinAt = null;
window.__joinMarks = {welcome: null, pc: null, remote: null, connected: null, packet: null};
document.addEventListener("submit", (event) => {
  if (event.target && event.target.id === "join-form" && window.__joinAt === null) {
    window.__joinAt = performance.now();
  }
}, true);
const mark = (name) => {
  if (window.__joinMarks[name] === null) window.__joinMarks[name] = performance.now();
};
const Recorded = window.RTCPeerConnection;
window.RTCPeerConnection = function (...args) {
  const pc = new Recorded(...args);
  window.__pcs.push(pc);
  pc.addEventListener("connectionstatechange", () => {
    if (pc.connectionState === "connected") mark("connected");
  });
  pc.addEventListener("track", (event) => {
    if (event.track.kind === "video") {
      event.track.addEventListener("unmute", () => mark("packet"), {once: true});
    }
  });
  return pc;
};
window.RTCPeerConnection.prototype = Recorded.prototype;
const setRemote = Recorded.prototype.setRemoteDescription;
Recorded.prototype.setRemoteDescription = function (...args) {
  mark("remote");
  return setRemote.apply(this, args);
};
const PlainSocket = window.WebSocket;
window.WebSocket = function (...args) {
  const ws = new PlainSocket(...args);
  ws.addEventListener("message", (event) => {
    if (typeof event.data === "string" && event.data.startsWith('{"type":"welcome"')) {
      mark("welcome");
    }
  });
  return ws;
};
window.WebSocket.prototype = PlainSocket.prototype;
const plainSend = PlainSocket.prototype.send;
PlainSocket.prototype.send = function (data) {
  // The first offer or answer (direct connection) or SFU offer this page sends.
  const sdp = typeof data === "string" && /"(description|sdp)"/.test(data);
  if (window.__joinAt !== null && sdp) mark("pc");
  return plainSend.call(this, data);
};
Object.assign(window.WebSocket, {CONNECTING: 0, OPEN: 1, CLOSING: 2, CLOSED: 3});
window.__workerStats = null;
const PlainWorker = window.Worker;
window.Worker = function (url, options) {
  const worker = new PlainWorker(url, options);
  worker.addEventListener("message", (event) => {
    if (event.data && event.data.kind === "stats") window.__workerStats = event.data;
  });
  return worker;
};
window.Worker.prototype = PlainWorker.prototype;
// Remote streams this page decodes video from and receives audio from, over all its
// connections (mesh: one stream per connection; SFU: all on one connection).
window.__receiving = async (pcs) => {
  let video = 0, audio = 0;
  for (const pc of pcs.filter(pc => pc.connectionState === "connected")) {
    (await pc.getStats()).forEach(r => {
      if (r.type === "inbound-rtp" && r.kind === "video" && r.framesDecoded > 0) video += 1;
      if (r.type === "inbound-rtp" && r.kind === "audio" && r.packetsReceived > 0) audio += 1;
    });
  }
  return {video, audio};
};
window.__firstFrames = async (pcs, peers, seconds) => {
  const deadline = performance.now() + seconds * 1000;
  let first = null;
  while (performance.now() < deadline) {
    const {video} = await window.__receiving(pcs());
    const now = performance.now();
    if (video > 0 && first === null) first = now;
    if (video >= peers) return {first, all: now};
    await new Promise(resolve => setTimeout(resolve, 10));
  }
  return {first, all: null};
};
"""

# What a page sees when a call did not come together: per connection, the video that
# arrives and what became of it; the key status of each person; the frame worker's counts.
DIAGNOSE = """
async () => {
  const pcs = [];
  for (const pc of window.__pcs.filter(pc => pc.connectionState !== "closed")) {
    const video = [];
    (await pc.getStats()).forEach(r => {
      if (r.type !== "inbound-rtp" || r.kind !== "video" || !r.packetsReceived) return;
      video.push({packets: r.packetsReceived, frames: r.framesReceived,
                  decoded: r.framesDecoded, keyframes: r.keyFramesDecoded, pli: r.pliCount});
    });
    pcs.push({state: pc.connectionState, video});
  }
  const people = [...document.querySelectorAll("#people [data-e2ee]")].map(e => e.dataset.e2ee);
  return {pcs, people, worker: window.__workerStats,
          count: (document.getElementById("count") || {}).textContent};
}
"""

# Polls (every 200 ms) until video and audio arrive from `peers` others; what it saw.
MEDIA_FLOWING = """
async ([peers, seconds]) => {
  const deadline = performance.now() + seconds * 1000;
  let seen = {video: 0, audio: 0};
  while (performance.now() < deadline) {
    seen = await window.__receiving(window.__pcs);
    if (seen.video >= peers && seen.audio >= peers) break;
    await new Promise(resolve => setTimeout(resolve, 200));
  }
  return seen;
}
"""

# After the click on Join: ms from the click to each mark and to the first decoded remote
# frame ("first") and video from `peers` connections ("all"), getStats polled every 10 ms.
FIRST_FRAME = """
async ([peers, seconds]) => {
  const {first, all} = await window.__firstFrames(() => window.__pcs, peers, seconds);
  const since = (t) => t === null ? null : t - window.__joinAt;
  const marks = window.__joinMarks;
  return {welcome: since(marks.welcome), pc: since(marks.pc), remote: since(marks.remote),
          connected: since(marks.connected), packet: since(marks.packet),
          first: since(first), all: since(all)};
}
"""

# The baseline of bench.join: two RTCPeerConnections in one page, no server, the camera
# track already open; ms from creating them to connected and to the first decoded frame,
# measured the same way as FIRST_FRAME.
BASELINE = """
async (seconds) => {
  const stream = await navigator.mediaDevices.getUserMedia(
    {video: {width: 640, height: 480}, audio: true});
  const start = performance.now();
  const a = new RTCPeerConnection();
  const b = new RTCPeerConnection();
  let connected = null;
  b.addEventListener("connectionstatechange", () => {
    if (b.connectionState === "connected" && connected === null) connected = performance.now();
  });
  a.addEventListener("icecandidate", (e) => { if (e.candidate) b.addIceCandidate(e.candidate); });
  b.addEventListener("icecandidate", (e) => { if (e.candidate) a.addIceCandidate(e.candidate); });
  for (const track of stream.getTracks()) a.addTrack(track, stream);
  const watch = window.__firstFrames(() => [b], 1, seconds);
  await a.setLocalDescription();
  await b.setRemoteDescription(a.localDescription);
  await b.setLocalDescription();
  await a.setRemoteDescription(b.localDescription);
  const {first} = await watch;
  a.close();
  b.close();
  for (const track of stream.getTracks()) track.stop();
  const since = (t) => t === null ? null : t - start;
  return {connected: since(connected), first: since(first)};
}
"""

# Counters of one page's open connections, for rates over a window.
CALL_STATS = """
async () => {
  const out = {encoded: 0, decoded: 0, received: 0, videoBytes: 0, keyFrames: 0,
               audioBytes: 0, audioPackets: 0, audioReceived: 0, encodeTime: 0,
               decodeTime: 0, senders: [], transforms: 0, endpoints: 0, pli: 0,
               keyDecoded: 0, freezes: 0, worker: window.__workerStats,
               mode: (document.getElementById("media-mode") || {dataset: {}}).dataset.mode};
  for (const pc of window.__pcs.filter(pc => pc.connectionState !== "closed")) {
    for (const e of [...pc.getSenders(), ...pc.getReceivers()]) {
      out.endpoints += 1;
      if (e.transform) out.transforms += 1;
    }
    const stats = await pc.getStats();
    stats.forEach(r => {
      if (r.type === "outbound-rtp" && r.kind === "video" && r.framesEncoded) {
        out.encoded += r.framesEncoded;
        out.videoBytes += r.bytesSent || 0;
        out.keyFrames += r.keyFramesEncoded || 0;
        out.encodeTime += r.totalEncodeTime || 0;
        const codec = stats.get(r.codecId);
        out.senders.push({width: r.frameWidth, height: r.frameHeight, fps: r.framesPerSecond,
                          limit: r.qualityLimitationReason, codec: codec && codec.mimeType});
      }
      if (r.type === "outbound-rtp" && r.kind === "audio") {
        out.audioBytes += r.bytesSent || 0;
        out.audioPackets += r.packetsSent || 0;
      }
      if (r.type === "inbound-rtp" && r.kind === "audio") {
        out.audioReceived += r.packetsReceived || 0;
      }
      if (r.type === "inbound-rtp" && r.kind === "video") {
        out.received += r.framesReceived || 0;
        out.decoded += r.framesDecoded || 0;
        out.pli += r.pliCount || 0;
        out.keyDecoded += r.keyFramesDecoded || 0;
        out.freezes += r.freezeCount || 0;
        out.decodeTime += r.totalDecodeTime || 0;
      }
    });
  }
  return out;
}
"""

# Init script for the instrumented call: the page loads the tap in front of the frame
# worker and keeps a handle on it.
TAP_PAGE = """
window.__benchWorkers = [];
const RealWorker = window.Worker;
window.Worker = function (url, options) {
  const href = String(url);
  const tapped = href.replace(/\\/e2ee\\/worker\\.js$/, "/e2ee/bench-tap-worker.js");
  const worker = new RealWorker(tapped, options);
  if (tapped !== href) window.__benchWorkers.push(worker);
  return worker;
};
window.Worker.prototype = RealWorker.prototype;
"""

# Served at /static/js/e2ee/bench-tap-patch.js; bench-tap-worker.js imports it and then the
# real worker.js statically (a top-level `await import` would let rtctransform events
# arrive before the real worker listens, and they would be lost). Wraps every transform of
# the real worker with a stage before and after it. Send side: the size and type of each
# encoded frame before encryption. Both sides: the time a frame spends in the real
# transform (including any wait in its queue). performance.now() here is coarsened to
# 0.1 ms (the room page is not cross-origin isolated).
TAP_PATCH = """
const add = self.addEventListener.bind(self);
const LIMIT = 100000;
let samples = {};
const record = (name, value) => {
  const list = (samples[name] ||= []);
  if (list.length < LIMIT) list.push(value);
};
add("message", (event) => {
  const m = event.data;
  if (m && m.kind === "bench-tap-start") samples = {};
  if (m && m.kind === "bench-tap") self.postMessage({kind: "bench-tap", samples});
});
self.addEventListener = (type, listener, ...rest) => {
  if (type !== "rtctransform") return add(type, listener, ...rest);
  return add(type, (event) => {
    const t = event.transformer;
    const {side, kind} = t.options;
    const started = new WeakMap();
    const before = new TransformStream({
      transform(frame, controller) {
        started.set(frame, performance.now());
        if (side === "send") {
          const type = kind === "audio" ? "frame" : frame.type;
          record(`size:${kind}:${type}`, frame.data.byteLength);
          if (kind !== "audio") record(`size:${kind}:mix`, frame.data.byteLength);
        }
        controller.enqueue(frame);
      },
    });
    const after = new TransformStream({
      transform(frame, controller) {
        const t0 = started.get(frame);
        if (t0 !== undefined) record(`time:${side}:${kind}`, performance.now() - t0);
        controller.enqueue(frame);
      },
    });
    after.readable.pipeTo(t.writable).catch(() => {});
    const wrapped = {readable: t.readable.pipeThrough(before), writable: after.writable,
                     options: t.options};
    listener({transformer: wrapped});
  }, ...rest);
};
"""

# Frame workers served in place of the real one for the comparison calls of bench.e2ee,
# each in the real worker's shape (an RTCRtpScriptTransform with a read/write loop per
# stream, no TransformStream):
# - "pass-through": every frame written on unchanged, its bytes never read: what having
#   frame transforms at all costs;
# - "WebCrypto floor": every frame's bytes read and given to one crypto.subtle AES-GCM call
#   (fixed key and nonce, result dropped), the frame written on unchanged: the least any
#   frame encryption with WebCrypto does (one call per frame), without SFrame.
_SUBSTITUTE = """
const ignore = () => {};
const key = crypto.subtle.importKey("raw", new Uint8Array(16), "AES-GCM", false, ["encrypt"]);
const params = {name: "AES-GCM", iv: new Uint8Array(12)};
self.addEventListener("rtctransform", async (event) => {
  const {readable, writable} = event.transformer;
  const reader = readable.getReader();
  const writer = writable.getWriter();
  const aes = await key;
  try {
    for (;;) {
      const {value, done} = await reader.read();
      if (done) return;
      STEP
      writer.write(value).catch(ignore);
    }
  } catch {}
});
"""
SUBSTITUTE_WORKERS = {
    "pass-through": _SUBSTITUTE.replace("STEP", ""),
    "WebCrypto floor": _SUBSTITUTE.replace(
        "STEP",
        "const bytes = new Uint8Array(value.data);\n"
        "      if (bytes.length) await crypto.subtle.encrypt(params, aes, bytes);\n"
        "      value.data = bytes.buffer;",
    ),
}

TAP_WORKER = 'import "./bench-tap-patch.js";\nimport "./worker.js";\n'

TAP_COMMAND = """
async (kind) => Promise.all(window.__benchWorkers.map(w => new Promise(resolve => {
  if (kind === "bench-tap-start") { w.postMessage({kind}); resolve(null); return; }
  const timer = setTimeout(() => resolve(null), 10000);
  const on = (event) => {
    if (!event.data || event.data.kind !== "bench-tap") return;
    w.removeEventListener("message", on);
    clearTimeout(timer);
    resolve(event.data.samples);
  };
  w.addEventListener("message", on);
  w.postMessage({kind});
})))
"""

# The per-frame benchmark page (served cross-origin isolated, so performance.now() has
# 5 us resolution instead of 100 us) and its module worker, which imports the product's
# sframe.js from the server. Mode "sframe": each frame is encrypted with
# SFrameContext.encryptFrame and decrypted with SFrameReceiver.decryptFrame (suite 4), one
# at a time, as the frame worker does. Mode "bare": one crypto.subtle AES-GCM encrypt and
# decrypt of the same bytes, to show what the SFrame code adds. The modes run as separate
# messages so that the CPU time of each can be read from /proc around it.
BENCH_PAGE = "<!doctype html><meta charset=utf-8><title>SFrame benchmark</title>"

BENCH_WORKER = """
import { SFrameContext, SFrameReceiver } from "/static/js/e2ee/sframe.js";

const SUITE = 4;

function randomBytes(length) {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i += 65536) crypto.getRandomValues(out.subarray(i, i + 65536));
  return out;
}

// As the frame worker does: the first `clear` bytes (the VP8 payload header) stay in the
// clear as SFrame metadata, in front of the SFrame header, in the one buffer each call makes.
async function sframe(sizes, clear, frames, warmup) {
  const base = randomBytes(16);
  const kid = crypto.getRandomValues(new Uint32Array(1))[0] * 256;
  const sender = await SFrameContext.create(SUITE, base, BigInt(kid));
  const receiver = new SFrameReceiver(SUITE);
  await receiver.addKey(kid, base);
  const payloads = new Map(sizes.map(size => [size, randomBytes(size)]));
  const out = {encrypt: [], decrypt: []};
  for (let i = 0; i < warmup + frames; i++) {
    const plain = payloads.get(sizes[i % sizes.length]);
    const t0 = performance.now();
    const sealed = await sender.encryptFrame(plain, clear);
    const t1 = performance.now();
    const opened = await receiver.decryptFrame(sealed, clear);
    const t2 = performance.now();
    if (opened.byteLength !== plain.byteLength) throw new Error("round trip changed the frame");
    if (i < warmup) continue;
    out.encrypt.push(t1 - t0);
    out.decrypt.push(t2 - t1);
  }
  return out;
}

async function bare(sizes, clear, frames, warmup) {
  const key = await crypto.subtle.importKey("raw", randomBytes(16), "AES-GCM", false,
                                            ["encrypt", "decrypt"]);
  const payloads = new Map(sizes.map(size => [size, randomBytes(size)]));
  const out = {encrypt: [], decrypt: []};
  for (let i = 0; i < warmup + frames; i++) {
    const plain = payloads.get(sizes[i % sizes.length]);
    const iv = new Uint8Array(12);
    new DataView(iv.buffer).setUint32(8, i);
    const t0 = performance.now();
    const sealed = await crypto.subtle.encrypt({name: "AES-GCM", iv}, key, plain);
    const t1 = performance.now();
    await crypto.subtle.decrypt({name: "AES-GCM", iv}, key, sealed);
    const t2 = performance.now();
    if (i < warmup) continue;
    out.encrypt.push(t1 - t0);
    out.decrypt.push(t2 - t1);
  }
  return out;
}

self.addEventListener("message", async (event) => {
  const {cases, frames, warmup, mode} = event.data;
  try {
    const results = {};
    const run = mode === "bare" ? bare : sframe;
    for (const [name, sizes, clear] of cases) {
      results[name] = await run(sizes, clear, frames, warmup);
    }
    self.postMessage({results, isolated: self.crossOriginIsolated});
  } catch (error) {
    self.postMessage({error: String(error)});
  }
});
"""

START_BENCH_WORKER = """
async (url) => new Promise((resolve, reject) => {
  window.__bench = new Worker(url, {type: "module"});
  window.__bench.addEventListener("error", (event) => reject(new Error(event.message)));
  // A module worker has loaded when it answers; an empty run is the ping.
  window.__bench.addEventListener("message", () => resolve(true), {once: true});
  window.__bench.postMessage({cases: [], frames: 0, warmup: 0, mode: "sframe"});
})
"""

RUN_BENCH_WORKER = """
async ([params, seconds]) => new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error("worker benchmark timed out")), seconds * 1000);
  window.__bench.addEventListener("message", (event) => {
    clearTimeout(timer);
    resolve(event.data);
  }, {once: true});
  window.__bench.postMessage(params);
})
"""
