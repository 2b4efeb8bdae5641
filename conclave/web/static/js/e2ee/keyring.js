// @ts-check
/**
 * The keys of every sender we receive from, by KID, with their ratchet chains: a frame
 * with an unknown KID just ahead of a known one of the same sender is opened with the
 * ratcheted key (everyone ratchets when someone joins). Used by the frame worker for
 * media and by the page for chat. No DOM.
 *
 * Every key belongs to one sender (pid), and a frame opens only with a key of the sender
 * it is said to come from (the stream it arrived on, the chat message's sender):
 * - a KID is one sender's: another sender's key message for it, or for a KID its chain may
 *   ratchet to, is refused (a participant cannot claim someone else's next key);
 * - a sender's older keys are retired once a newer one has taken over: RETIRE_MS after a
 *   frame under the newer key opened, or ANNOUNCED_RETIRE_MS after the newer key arrived
 *   (the sender switches to it within a second, docs/e2ee.md). Someone who left and kept
 *   the old keys cannot make frames or chat that a remaining participant accepts;
 * - a retired or forgotten key, and any key of a sender who left, is never installed
 *   again: a replayed key message would otherwise bring it back with a fresh replay window.
 *
 * Frames of a KID whose key is being installed (a key message being derived, a ratchet
 * being followed) wait for it; two frames never install the same KID twice.
 */
import { SFrameReceiver, SFrameError, kidAt } from "./sframe.js";
import { RATCHET_WINDOW, ratchetTo } from "./derive.js";

/** How often one frame starts over after another frame's attempt to follow a ratchet failed. */
const FOLLOW_ATTEMPTS = 3;
/** After a frame under a sender's newer key opened: its older keys go after this long. */
export const RETIRE_MS = 2000;
/** After a sender's newer key arrived (used within a second): its older keys go after this long. */
export const ANNOUNCED_RETIRE_MS = 5000;

const ignore = () => {};

/** A key id refused for a sender: another's, used before, or the sender left. */
export class KeyRefused extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "KeyRefused";
  }
}

/** @typedef {{kids: number[], retiring: number}} Sender  kids in the order installed */

export class KeyRing {
  /**
   * @param {number} suite
   * @param {{derive?: (base: Uint8Array) => Promise<Uint8Array>, retireMs?: number, announcedRetireMs?: number}} [options]
   *   derive: media uses the base key itself, chat a key derived from it; the delays are for tests
   */
  constructor(suite, { derive = async (base) => base, retireMs = RETIRE_MS, announcedRetireMs = ANNOUNCED_RETIRE_MS } = {}) {
    this.receiver = new SFrameReceiver(suite);
    this.derive = derive;
    this.retireMs = retireMs;
    this.announcedRetireMs = announcedRetireMs;
    /** Every KID installed or being installed, with its sender. @type {Map<number, {pid: string, base: Uint8Array}>} */
    this.chains = new Map();
    /** Keys being installed, by KID (from `add` or a ratchet followed). @type {Map<number, Promise<unknown>>} */
    this.installing = new Map();
    /** @type {Map<string, Sender>} */
    this.senders = new Map();
    /** "pid kid" of every key retired or forgotten. @type {Set<string>} */
    this.spent = new Set();
    /** Senders who left. @type {Set<string>} */
    this.gone = new Set();
  }

  /**
   * Install a sender's key (from its key message). Throws KeyRefused when the KID is not
   * this sender's to use (see above).
   * @param {number} kid
   * @param {Uint8Array} base
   * @param {string} pid
   */
  async add(kid, base, pid) {
    this.#check(kid, pid);
    for (let wait = 0; wait < FOLLOW_ATTEMPTS && this.installing.has(kid); wait++) {
      await this.installing.get(kid)?.catch(ignore); // a ratchet being followed to this KID
    }
    this.#check(kid, pid);
    if (this.chains.has(kid)) return;
    this.chains.set(kid, { pid, base });
    await this.#install(kid, (async () => this.receiver.addKey(kid, await this.derive(base)))());
    this.#installed(pid, kid, this.announcedRetireMs);
  }

  /** @param {number} kid @param {string} pid */
  #check(kid, pid) {
    if (this.gone.has(pid)) throw new KeyRefused("a key of a participant who left");
    if (this.spent.has(`${pid} ${kid}`)) throw new KeyRefused(`key id ${kid} was used before`);
    const owner = this.#ownerOf(kid);
    if (owner !== null && owner !== pid) throw new KeyRefused(`key id ${kid} belongs to another participant`);
  }

  /**
   * The sender a KID belongs to: whose key it is, or whose chain ratchets to it; null if
   * nobody's.
   * @param {number} kid
   */
  #ownerOf(kid) {
    const chain = this.chains.get(kid);
    if (chain) return chain.pid;
    for (const [known, entry] of this.chains) {
      if (kid > known && kid - known <= RATCHET_WINDOW) return entry.pid;
    }
    return null;
  }

  /**
   * A sender left: forget its keys, and install none of its keys again.
   * @param {string} pid
   */
  forget(pid) {
    this.gone.add(pid);
    for (const [kid, entry] of [...this.chains]) {
      if (entry.pid === pid) this.#retire(kid, pid);
    }
    this.senders.delete(pid);
  }

  /**
   * Decrypt what `pid` sent; throws SFrameError (reason "malformed", "unknown_kid",
   * "sender" (the key is another sender's), "replay", "auth").
   * @param {string} pid
   * @param {Uint8Array} metadata
   * @param {Uint8Array} data
   * @returns {Promise<Uint8Array>}
   */
  async decrypt(pid, metadata, data) {
    const kid = kidAt(data);
    const open = () => this.receiver.decrypt(metadata, data);
    const plain = this.#ready(kid, pid) ? await open() : await this.#unknown(/** @type {number} */ (kid), pid, open);
    this.#opened(kid);
    return plain;
  }

  /**
   * Decrypt an encoded frame from `pid` whose first `clear` bytes are in the clear (the
   * frame worker's path; see SFrameReceiver.decryptFrame). Rejects like `decrypt`.
   * @param {string} pid
   * @param {Uint8Array} frame
   * @param {number} clear
   * @returns {Promise<ArrayBuffer>}
   */
  decryptFrame(pid, frame, clear) {
    const kid = kidAt(frame, clear);
    const opening = this.#ready(kid, pid)
      ? this.receiver.decryptFrame(frame, clear)
      : this.#unknown(/** @type {number} */ (kid), pid, () => this.receiver.decryptFrame(frame, clear));
    return this.#retiring(kid) ? opening.then((plain) => (this.#opened(kid), plain)) : opening;
  }

  /**
   * Can a frame of `kid` from `pid` be opened right away: its key is there, is the
   * sender's and is not being replaced or tried, or its header is malformed (or its KID no
   * Conclave KID), which decrypting says? Throws when the key is another sender's.
   * @param {number | bigint} kid  from kidAt
   * @param {string} pid
   */
  #ready(kid, pid) {
    if (typeof kid !== "number" || kid < 0) return true;
    const chain = this.chains.get(kid);
    if (chain && chain.pid !== pid) throw new SFrameError("sender", `KID ${kid} is another participant's key`);
    return this.receiver.has(kid) && (this.installing.size === 0 || !this.installing.has(kid));
  }

  /**
   * Does a frame that opens under `kid` start the retirement of older keys (the first
   * frame under a sender's newest key, while older ones are still there)?
   * @param {number | bigint} kid
   */
  #retiring(kid) {
    if (typeof kid !== "number") return false;
    const sender = this.senders.get(this.chains.get(kid)?.pid ?? "");
    if (!sender || sender.kids.length < 2 || sender.retiring === kid) return false;
    return sender.kids[sender.kids.length - 1] === kid;
  }

  /** A frame under `kid` opened. @param {number | bigint} kid */
  #opened(kid) {
    if (!this.#retiring(kid)) return;
    const pid = /** @type {{pid: string}} */ (this.chains.get(/** @type {number} */ (kid))).pid;
    this.#retireBefore(pid, /** @type {number} */ (kid), this.retireMs);
  }

  /**
   * A frame of a KID without a key: wait for the key if it is being installed, else
   * follow the sender's ratchet to it; unknown_kid if neither gives one.
   * @template T
   * @param {number} kid
   * @param {string} pid
   * @param {() => Promise<T>} open  decrypts the frame once the key is there
   * @returns {Promise<T>}
   */
  async #unknown(kid, pid, open) {
    for (let attempt = 0; attempt < FOLLOW_ATTEMPTS; attempt++) {
      const pending = this.installing.get(kid);
      if (pending) {
        await pending.catch(ignore); // another frame's attempt, or the key message's
      } else if (!this.receiver.has(kid)) {
        if (this.spent.has(`${pid} ${kid}`) || this.gone.has(pid)) break;
        const followed = await this.#install(kid, this.#follow(kid, pid, open));
        if (followed) return followed.plain; // this frame opened with the ratcheted key
        break; // no chain of this sender reaches it
      }
      if (this.receiver.has(kid)) {
        if (this.chains.get(kid)?.pid !== pid) throw new SFrameError("sender", `KID ${kid} is another participant's key`);
        return open();
      }
    }
    throw new SFrameError("unknown_kid", `no SFrame key for KID ${kid}`);
  }

  /**
   * Try the sender's chains that reach `kid` within the ratchet window: install the
   * ratcheted key, and keep it if the frame opens with it.
   * @template T
   * @param {number} kid
   * @param {string} pid
   * @param {() => Promise<T>} open
   * @returns {Promise<{plain: T} | null>}
   */
  async #follow(kid, pid, open) {
    for (const [known, entry] of [...this.chains]) {
      if (entry.pid !== pid) continue;
      const base = await ratchetTo(known, entry.base, kid);
      if (!base || this.chains.has(kid) || this.gone.has(pid)) continue;
      await this.receiver.addKey(kid, await this.derive(base));
      try {
        const plain = await open();
        this.chains.set(kid, { pid, base });
        this.#installed(pid, kid, this.retireMs); // a frame opened under it already
        return { plain };
      } catch {
        this.receiver.removeKey(kid);
      }
    }
    return null;
  }

  /**
   * A key of `pid` is in; its older keys go `afterMs` later.
   * @param {string} pid @param {number} kid @param {number} afterMs
   */
  #installed(pid, kid, afterMs) {
    if (this.gone.has(pid)) return;
    let sender = this.senders.get(pid);
    if (!sender) this.senders.set(pid, (sender = { kids: [], retiring: -1 }));
    sender.kids.push(kid);
    if (sender.kids.length > 1) this.#retireBefore(pid, kid, afterMs);
  }

  /**
   * In `afterMs`, retire the keys `pid` installed before `kid` (if `kid` is still there).
   * @param {string} pid @param {number} kid @param {number} afterMs
   */
  #retireBefore(pid, kid, afterMs) {
    const sender = this.senders.get(pid);
    if (sender && afterMs <= this.retireMs) sender.retiring = kid;
    setTimeout(() => {
      const now = this.senders.get(pid);
      const at = now ? now.kids.indexOf(kid) : -1;
      if (!now || at <= 0) return;
      for (const old of now.kids.splice(0, at)) this.#retire(old, pid);
    }, afterMs);
  }

  /** @param {number} kid @param {string} pid */
  #retire(kid, pid) {
    this.spent.add(`${pid} ${kid}`);
    this.chains.delete(kid);
    this.receiver.removeKey(kid);
  }

  /**
   * Register a key installation for `kid` while it runs; its result.
   * @template T
   * @param {number} kid
   * @param {Promise<T>} running
   * @returns {Promise<T>}
   */
  async #install(kid, running) {
    this.installing.set(kid, running);
    try {
      return await running;
    } finally {
      if (this.installing.get(kid) === running) this.installing.delete(kid);
    }
  }
}
