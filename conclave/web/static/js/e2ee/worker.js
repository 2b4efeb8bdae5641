// @ts-check
/**
 * The frame worker: encrypts every outgoing encoded audio/video frame with SFrame and
 * decrypts every incoming one; a frame that does not decrypt is dropped and counted,
 * never handed to the decoder. Attached with RTCRtpScriptTransform (or, as a fallback,
 * streams from createEncodedStreams posted here). No DOM.
 *
 * A received frame whose KID has no key yet (the sender's key message is still on its way,
 * as when someone joins) is held, per receiver and in order, for at most HOLD_MS and
 * HOLD_FRAMES frames, and decrypted when the key arrives: so the first key frame of a
 * call is not lost. A frame still without a key when its hold ends is dropped and counted
 * as "unknown_kid", like any frame that does not decrypt.
 *
 * A received frame opens only with a key of the participant its receiver carries (`pid`
 * of the transform, changed by "relabel"): see keyring.js. A frame under another
 * participant's key is held the same way and tried again when the receiver is relabelled
 * (the SFU may start forwarding a newcomer on a reused stream just before the page says
 * so); still not its sender's when its hold ends, it is dropped and counted as "sender".
 *
 * Per frame the worker reads the frame, encrypts or decrypts it into one new buffer
 * (sframe.js) and writes it on: no copy of its own, no BigInt, no closure.
 *
 * Messages from the page (a union on `kind`):
 *   {kind: "send-key", kid, key}              use this key for everything we send
 *   {kind: "receive-key", kid, key, pid}      a sender's key (ratchets are followed)
 *   {kind: "forget-sender", pid}              drop a departed sender's keys
 *   {kind: "reset"}                           a new stay: forget every received key
 *   {kind: "relabel", id, pid}                receiver `id` now carries `pid`'s frames (SFU)
 *   {kind: "stream", side, pid, id, readable, writable}   fallback pipes
 *   {kind: "stats", id}                       report the stats now (with this id)
 * Messages to the page, every second and when asked: {kind: "stats", sent,
 *   received: {pid: n}, dropped: {pid: {reason: n}}, held: {pid: n}, id?}  (frames sent,
 *   decrypted, dropped by reason, and waiting for their key now)
 */
import { SFrameContext, SFrameError, kidAt } from "./sframe.js";
import { KeyRing } from "./keyring.js";
import { StreamFraming } from "./framing.js";

const SUITE = 4;
const STATS_MS = 1000;
/** How long a received frame waits for its key at most. */
export const HOLD_MS = 1000;
/** How many frames one receiver holds at most; beyond, the oldest is dropped. */
export const HOLD_FRAMES = 64;
const SWEEP_MS = 100;

/**
 * @typedef {{data: ArrayBuffer, type?: string, getMetadata?: () => {mimeType?: string}}} EncodedFrame
 * @typedef {{frame: EncodedFrame, bytes: Uint8Array, clear: number, kid: number | bigint, until: number,
 *            reason: string}} Held  `reason`: why it waits ("unknown_kid" or "sender")
 * @typedef {{received: number, dropped: Record<string, number>}} Tally
 */

/** @type {SFrameContext | null} */
let sender = null;
/** How many send keys the page gave; the newest wins. */
let sendKeys = 0;
let ring = new KeyRing(SUITE);
let sent = 0;
/** Per sender (pid): frames decrypted, and dropped by reason. @type {Map<string, Tally>} */
const tallies = new Map();
/** Counts the receive keys installed; a frame that missed its key tries again when it moved. */
let keyEpoch = 0;
/** Receivers holding frames. @type {Set<Receiver>} */
const holding = new Set();
/** Receivers by the id the page gave their transform. @type {Map<number, Receiver>} */
const receivers = new Map();
/** @type {ReturnType<typeof setTimeout> | undefined} */
let sweepTimer;

/** @param {string} pid */
function tallyOf(pid) {
  let tally = tallies.get(pid);
  if (!tally) tallies.set(pid, (tally = { received: 0, dropped: {} }));
  return tally;
}

/** @param {Tally} tally @param {string} reason */
function drop(tally, reason) {
  tally.dropped[reason] = (tally.dropped[reason] || 0) + 1;
}

function stats() {
  /** @type {Record<string, number>} */
  const received = {};
  /** @type {Record<string, Record<string, number>>} */
  const dropped = {};
  /** @type {Record<string, number>} */
  const held = {};
  for (const [pid, tally] of tallies) {
    received[pid] = tally.received;
    dropped[pid] = tally.dropped;
  }
  for (const receiver of holding) held[receiver.pid] = (held[receiver.pid] || 0) + receiver.held.length;
  return { kind: "stats", sent, received, dropped, held };
}

/** A frame refused for this reason may open later (its key, or its relabel, is on the way). @param {string} reason */
function waits(reason) {
  return reason === "unknown_kid" || reason === "sender";
}

/** @param {unknown} error */
function reasonOf(error) {
  return error instanceof SFrameError ? error.reason : "malformed";
}

/**
 * @param {WritableStreamDefaultWriter} writer @param {EncodedFrame} frame
 */
function write(writer, frame) {
  writer.write(frame).catch(ignore); // fails only when the stream is gone: the loop ends too
}

function ignore() {}

/**
 * @param {ReadableStream} readable @param {WritableStream} writable
 */
async function sendLoop(readable, writable) {
  const reader = readable.getReader();
  const writer = writable.getWriter();
  const framing = new StreamFraming();
  for (;;) {
    const { value: frame, done } = await reader.read();
    if (done) return;
    const data = /** @type {EncodedFrame} */ (frame).data;
    if (data.byteLength !== 0) {
      if (!sender) continue; // no key yet: send nothing rather than plaintext
      const bytes = new Uint8Array(data);
      try {
        frame.data = (await sender.encryptFrame(bytes, framing.clearLength(frame, bytes.length))).buffer;
      } catch {
        continue; // counter exhausted, or a key replaced mid-frame: drop the frame
      }
      sent += 1;
    }
    write(writer, frame);
  }
}

/** The receiving side of one connection or track: its frames, and those it holds. */
class Receiver {
  /** @param {string} pid @param {WritableStreamDefaultWriter} writer */
  constructor(pid, writer) {
    this.pid = pid;
    this.tally = tallyOf(pid);
    this.writer = writer;
    /** Frames waiting for their key, oldest first. @type {Held[]} */
    this.held = [];
    this.draining = false;
    this.again = false;
    this.closed = false;
  }

  /** The receiver carries another participant's frames now (the SFU reused it). @param {string} pid */
  relabel(pid) {
    this.pid = pid;
    this.tally = tallyOf(pid);
    if (this.held.length !== 0) this.drain();
  }

  /** @param {EncodedFrame} frame */
  pass(frame) {
    this.tally.received += 1;
    write(this.writer, frame);
  }

  /** Are frames of this frame's KID held (then it waits behind them)? @param {Uint8Array} bytes @param {number} clear */
  holds(bytes, clear) {
    const kid = kidAt(bytes, clear);
    return this.held.some((entry) => entry.kid === kid);
  }

  /**
   * A frame did not decrypt: drop it, or hold it if its KID has no key. When a key
   * arrived while it was tried (`epoch` moved), it is tried once more first.
   * @param {EncodedFrame} frame @param {Uint8Array} bytes @param {number} clear
   * @param {unknown} error @param {number} epoch
   */
  async failed(frame, bytes, clear, error, epoch) {
    let reason = reasonOf(error);
    if (reason === "unknown_kid" && epoch !== keyEpoch) {
      try {
        frame.data = await ring.decryptFrame(this.pid, bytes, clear);
        return this.pass(frame);
      } catch (again) {
        reason = reasonOf(again);
      }
    }
    if (waits(reason)) this.hold(frame, bytes, clear, reason);
    else drop(this.tally, reason);
  }

  /** @param {EncodedFrame} frame @param {Uint8Array} bytes @param {number} clear @param {string} [reason] */
  hold(frame, bytes, clear, reason = "unknown_kid") {
    if (this.closed) return drop(this.tally, reason);
    if (this.held.length >= HOLD_FRAMES) drop(this.tally, /** @type {Held} */ (this.held.shift()).reason);
    this.held.push({ frame, bytes, clear, kid: kidAt(bytes, clear), until: performance.now() + HOLD_MS, reason });
    holding.add(this);
    sweepTimer ??= setTimeout(sweep, SWEEP_MS);
  }

  /** A key arrived: decrypt, in order, the held frames that have a key now. */
  async drain() {
    if (this.draining) {
      this.again = true;
      return;
    }
    this.draining = true;
    try {
      do {
        this.again = false;
        await this.#drainOnce();
      } while (this.again);
    } finally {
      this.draining = false;
      if (this.held.length === 0) holding.delete(this);
    }
  }

  async #drainOnce() {
    /** KIDs still without a key in this pass: their later frames stay behind them. */
    const waiting = new Set();
    for (let i = 0; i < this.held.length; ) {
      const entry = this.held[i];
      if (waiting.has(entry.kid)) {
        i += 1;
        continue;
      }
      let reason = "";
      try {
        entry.frame.data = await ring.decryptFrame(this.pid, entry.bytes, entry.clear);
      } catch (error) {
        reason = reasonOf(error);
      }
      i = 0; // the list may have changed meanwhile; frames already seen are skipped quickly
      const at = this.held.indexOf(entry);
      if (at === -1) continue; // dropped meanwhile: the hold overflowed or the stream ended
      if (waits(reason)) {
        entry.reason = reason;
        waiting.add(entry.kid);
        continue;
      }
      this.held.splice(at, 1);
      if (reason) drop(this.tally, reason);
      else this.pass(entry.frame);
    }
  }

  /**
   * Drop the frames whose hold has ended, also while a drain runs (keys arriving back to
   * back keep it running): the drain finds each frame again after every await and skips
   * one that is gone.
   * @param {number} now
   */
  expire(now) {
    while (this.held.length !== 0 && this.held[0].until <= now) {
      drop(this.tally, /** @type {Held} */ (this.held.shift()).reason);
    }
    if (this.held.length === 0) holding.delete(this);
  }

  /** The stream ended: nothing held can be written any more. */
  close() {
    this.closed = true;
    for (const entry of this.held) drop(this.tally, entry.reason);
    this.held.length = 0;
    holding.delete(this);
  }
}

function sweep() {
  sweepTimer = undefined;
  const now = performance.now();
  for (const receiver of holding) receiver.expire(now);
  if (holding.size !== 0) sweepTimer = setTimeout(sweep, SWEEP_MS);
}

/**
 * @param {ReadableStream} readable @param {WritableStream} writable @param {string} pid
 * @param {number | undefined} id
 */
async function receiveLoop(readable, writable, pid, id) {
  const reader = readable.getReader();
  const receiver = new Receiver(pid, writable.getWriter());
  if (id !== undefined) receivers.set(id, receiver);
  const framing = new StreamFraming();
  try {
    for (;;) {
      const { value: frame, done } = await reader.read();
      if (done) return;
      const data = /** @type {EncodedFrame} */ (frame).data;
      if (data.byteLength === 0) {
        write(receiver.writer, frame); // nothing to protect
        continue;
      }
      const bytes = new Uint8Array(data);
      const clear = framing.clearLength(frame, bytes.length);
      if (receiver.held.length !== 0 && receiver.holds(bytes, clear)) {
        receiver.hold(frame, bytes, clear);
        continue;
      }
      const epoch = keyEpoch;
      try {
        frame.data = await ring.decryptFrame(receiver.pid, bytes, clear);
      } catch (error) {
        await receiver.failed(frame, bytes, clear, error, epoch);
        continue;
      }
      receiver.pass(frame);
    }
  } finally {
    receiver.close();
    if (id !== undefined && receivers.get(id) === receiver) receivers.delete(id);
  }
}

/**
 * @param {ReadableStream} readable
 * @param {WritableStream} writable
 * @param {"send" | "receive"} side
 * @param {string} pid
 * @param {number} [id]
 */
function pipe(readable, writable, side, pid, id) {
  const running = side === "send" ? sendLoop(readable, writable) : receiveLoop(readable, writable, pid, id);
  running.catch(ignore); // the stream was closed or errored: the transceiver is gone
}

/** @param {MessageEvent} event */
async function route(event) {
  const m = event.data;
  switch (m.kind) {
    case "send-key": {
      // Made asynchronously: a key that was replaced while it was made is not used.
      const seq = ++sendKeys;
      const made = await SFrameContext.create(SUITE, m.key, BigInt(m.kid));
      if (seq === sendKeys) sender = made;
      break;
    }
    case "receive-key":
      try {
        await ring.add(m.kid, m.key, m.pid);
      } catch {
        break; // refused (keyring.js); the page refuses it too and shows the sender as invalid
      }
      keyEpoch += 1;
      for (const receiver of holding) receiver.drain();
      break;
    case "forget-sender":
      ring.forget(m.pid);
      break;
    case "reset":
      ring = new KeyRing(SUITE);
      keyEpoch += 1;
      break;
    case "relabel": {
      const receiver = receivers.get(m.id);
      if (receiver) receiver.relabel(m.pid);
      break;
    }
    case "stream":
      pipe(m.readable, m.writable, m.side, m.pid, m.id);
      break;
    case "stats":
      self.postMessage({ ...stats(), id: m.id });
      break;
  }
}

self.addEventListener("message", (event) => route(/** @type {MessageEvent} */ (event)));
// @ts-ignore: rtctransform is not in TypeScript's worker library yet
self.addEventListener("rtctransform", (/** @type {any} */ event) => {
  const { readable, writable, options } = event.transformer;
  pipe(readable, writable, options.side, options.pid || "", options.id);
});
setInterval(() => self.postMessage(stats()), STATS_MS);
