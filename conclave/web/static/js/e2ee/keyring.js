// @ts-check
/**
 * The keys of every sender we receive from, by KID, with their ratchet chains: a frame
 * with an unknown KID just ahead of a known one of the same sender is opened with the
 * ratcheted key (everyone ratchets when someone joins). Used by the frame worker for
 * media and by the page for chat. No DOM.
 *
 * Frames of a KID whose key is being installed (a key message being derived, a ratchet
 * being followed) wait for it; two frames never install the same KID twice, which would
 * give it a fresh replay window.
 */
import { SFrameReceiver, SFrameError, kidAt } from "./sframe.js";
import { ratchetTo } from "./derive.js";

/** How often one frame starts over after another frame's attempt to follow a ratchet failed. */
const FOLLOW_ATTEMPTS = 3;

const ignore = () => {};

export class KeyRing {
  /**
   * @param {number} suite
   * @param {(base: Uint8Array) => Promise<Uint8Array>} [derive]  media: the base key itself;
   *   chat: a key derived from it
   */
  constructor(suite, derive = async (base) => base) {
    this.receiver = new SFrameReceiver(suite);
    this.derive = derive;
    /** @type {Map<number, {pid: string, base: Uint8Array}>} */
    this.chains = new Map();
    /** Keys being installed, by KID (from `add` or a ratchet followed). @type {Map<number, Promise<unknown>>} */
    this.installing = new Map();
  }

  /**
   * @param {number} kid
   * @param {Uint8Array} base
   * @param {string} pid
   */
  async add(kid, base, pid) {
    for (let wait = 0; wait < FOLLOW_ATTEMPTS && this.installing.has(kid); wait++) {
      await this.installing.get(kid)?.catch(ignore); // a ratchet being followed to this KID
    }
    if (this.chains.has(kid)) return;
    this.chains.set(kid, { pid, base });
    await this.#install(kid, (async () => this.receiver.addKey(kid, await this.derive(base)))());
  }

  /** @param {string} pid */
  forget(pid) {
    for (const [kid, entry] of [...this.chains]) {
      if (entry.pid !== pid) continue;
      this.chains.delete(kid);
      this.receiver.removeKey(kid);
    }
  }

  /**
   * Decrypt; throws SFrameError (reason "malformed", "unknown_kid", "replay", "auth").
   * @param {Uint8Array} metadata
   * @param {Uint8Array} data
   * @returns {Promise<{plain: Uint8Array, pid: string}>}
   */
  async decrypt(metadata, data) {
    const kid = kidAt(data);
    const open = () => this.receiver.decrypt(metadata, data);
    const plain = this.#ready(kid) ? await open() : await this.#unknown(/** @type {number} */ (kid), open);
    return { plain, pid: (typeof kid === "number" && this.chains.get(kid)?.pid) || "" };
  }

  /**
   * Decrypt an encoded frame whose first `clear` bytes are in the clear (the frame worker's
   * path; see SFrameReceiver.decryptFrame). Rejects like `decrypt`.
   * @param {Uint8Array} frame
   * @param {number} clear
   * @returns {Promise<ArrayBuffer>}
   */
  decryptFrame(frame, clear) {
    const kid = kidAt(frame, clear);
    if (this.#ready(kid)) return this.receiver.decryptFrame(frame, clear);
    return this.#unknown(/** @type {number} */ (kid), () => this.receiver.decryptFrame(frame, clear));
  }

  /**
   * Can a frame of `kid` be opened right away: its key is there and not being replaced or
   * tried, or its header is malformed (or its KID no Conclave KID), which decrypting says?
   * @param {number | bigint} kid  from kidAt
   */
  #ready(kid) {
    if (typeof kid !== "number" || kid < 0) return true;
    return this.receiver.has(kid) && (this.installing.size === 0 || !this.installing.has(kid));
  }

  /**
   * A frame of a KID without a key: wait for the key if it is being installed, else
   * follow a ratchet to it; unknown_kid if neither gives one.
   * @template T
   * @param {number} kid
   * @param {() => Promise<T>} open  decrypts the frame once the key is there
   * @returns {Promise<T>}
   */
  async #unknown(kid, open) {
    for (let attempt = 0; attempt < FOLLOW_ATTEMPTS; attempt++) {
      const pending = this.installing.get(kid);
      if (pending) {
        await pending.catch(ignore); // another frame's attempt, or the key message's
      } else if (!this.receiver.has(kid)) {
        const followed = await this.#install(kid, this.#follow(kid, open));
        if (followed) return followed.plain; // this frame opened with the ratcheted key
        break; // no chain reaches it
      }
      if (this.receiver.has(kid)) return open();
    }
    throw new SFrameError("unknown_kid", `no SFrame key for KID ${kid}`);
  }

  /**
   * Try the chains that reach `kid` within the ratchet window: install the ratcheted key,
   * and keep it if the frame opens with it (else it is another sender's chain).
   * @template T
   * @param {number} kid
   * @param {() => Promise<T>} open
   * @returns {Promise<{plain: T} | null>}
   */
  async #follow(kid, open) {
    for (const [known, entry] of [...this.chains]) {
      const base = await ratchetTo(known, entry.base, kid);
      if (!base) continue;
      await this.receiver.addKey(kid, await this.derive(base));
      try {
        const plain = await open();
        this.chains.set(kid, { pid: entry.pid, base });
        return { plain };
      } catch {
        this.receiver.removeKey(kid);
      }
    }
    return null;
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
