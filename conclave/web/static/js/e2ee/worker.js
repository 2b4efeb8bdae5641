// @ts-check
/**
 * The frame worker: encrypts every outgoing encoded audio/video frame with SFrame and
 * decrypts every incoming one; a frame that does not decrypt is dropped and counted,
 * never handed to the decoder. Attached with RTCRtpScriptTransform (or, as a fallback,
 * streams from createEncodedStreams posted here). No DOM.
 *
 * Messages from the page (a union on `kind`):
 *   {kind: "send-key", kid, key}              use this key for everything we send
 *   {kind: "receive-key", kid, key, pid}      a sender's key (ratchets are followed)
 *   {kind: "forget-sender", pid}              drop a departed sender's keys
 *   {kind: "stream", side, pid, readable, writable}   fallback pipes
 * Messages to the page: {kind: "stats", sent, received: {pid: n}, dropped: {pid: {reason: n}}}
 */
import { SFrameContext } from "./sframe.js";
import { KeyRing } from "./keyring.js";
import { clearLength } from "./framing.js";

const SUITE = 4;
const STATS_MS = 1000;

class FrameCrypto {
  constructor() {
    /** @type {SFrameContext | null} */
    this.sender = null;
    this.counter = 0n;
    this.ring = new KeyRing(SUITE);
    this.sent = 0;
    /** @type {Record<string, number>} */
    this.received = {};
    /** @type {Record<string, Record<string, number>>} */
    this.dropped = {};
  }

  /** @param {number} kid @param {Uint8Array} key */
  async setSendKey(kid, key) {
    this.sender = await SFrameContext.create(SUITE, key, BigInt(kid));
    this.counter = 0n;
  }

  /**
   * The frame's first `clear` bytes stay as they are (framing.js) and are authenticated.
   * @param {Uint8Array} data @param {number} clear
   */
  async encrypt(data, clear) {
    if (!this.sender) return null; // no key yet: send nothing rather than plaintext
    const counter = this.counter;
    this.counter += 1n;
    this.sent += 1;
    const head = data.subarray(0, clear);
    return join(head, await this.sender.encrypt(counter, head, data.subarray(clear)));
  }

  /**
   * @param {Uint8Array} data @param {number} clear
   * @param {string} pid  the connection the frame came in on
   */
  async decrypt(data, clear, pid) {
    try {
      const head = data.subarray(0, clear);
      const { plain } = await this.ring.decrypt(head, data.subarray(clear));
      this.received[pid] = (this.received[pid] || 0) + 1;
      return join(head, plain);
    } catch (error) {
      const reason = /** @type {any} */ (error)?.reason || "malformed";
      const counts = (this.dropped[pid] ||= {});
      counts[reason] = (counts[reason] || 0) + 1;
      return null;
    }
  }

  stats() {
    return { kind: "stats", sent: this.sent, received: this.received, dropped: this.dropped };
  }
}

const crypto_ = new FrameCrypto();

/** @param {Uint8Array} head @param {Uint8Array} body */
function join(head, body) {
  if (head.length === 0) return body;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {"send" | "receive"} side
 * @param {string} pid
 */
function pipe(readable, writable, side, pid) {
  const transform = new TransformStream({
    async transform(frame, controller) {
      const data = new Uint8Array(frame.data);
      if (data.length === 0) return controller.enqueue(frame); // nothing to protect
      const clear = clearLength(frame, data.length);
      const out =
        side === "send" ? await crypto_.encrypt(data, clear) : await crypto_.decrypt(data, clear, pid);
      if (!out) return;
      frame.data = out.buffer.byteLength === out.byteLength ? out.buffer : out.slice().buffer;
      controller.enqueue(frame);
    },
  });
  readable.pipeThrough(transform).pipeTo(writable).catch(() => {});
}

/** @param {MessageEvent} event */
async function route(event) {
  const m = event.data;
  switch (m.kind) {
    case "send-key":
      await crypto_.setSendKey(m.kid, m.key);
      break;
    case "receive-key":
      await crypto_.ring.add(m.kid, m.key, m.pid);
      break;
    case "forget-sender":
      crypto_.ring.forget(m.pid);
      break;
    case "stream":
      pipe(m.readable, m.writable, m.side, m.pid);
      break;
  }
}

self.addEventListener("message", (event) => route(/** @type {MessageEvent} */ (event)));
// @ts-ignore: rtctransform is not in TypeScript's worker library yet
self.addEventListener("rtctransform", (/** @type {any} */ event) => {
  const { readable, writable, options } = event.transformer;
  pipe(readable, writable, options.side, options.pid || "");
});
setInterval(() => self.postMessage(crypto_.stats()), STATS_MS);
