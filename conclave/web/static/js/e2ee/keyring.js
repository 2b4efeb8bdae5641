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
 * - a sender's older keys are retired once a newer one has taken over: RETIRE_MS after the
 *   first frame under the newer key opened, or ANNOUNCED_RETIRE_MS after the newer key
 *   arrived (the sender switches to it within a second, docs/e2ee.md). Someone who left
 *   and kept the old keys cannot make frames or chat that a remaining participant accepts.
 *   "Newer" is by position, not by arrival: each key message that does not continue one of
 *   the sender's chains starts a new chain, later than all before; a ratchet step is in
 *   its chain, after the steps below it. A late frame under an older step still opens (the
 *   step is followed), but never retires a key that is newer than it;
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

/**
 * A key and where it stands: its sender, its chain (the how-manieth fresh key of that
 * sender) and whether a frame opened under it yet.
 * @typedef {{pid: string, base: Uint8Array, chain: number, opened: boolean}} Entry
 */

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
    /** Every KID installed or being installed. @type {Map<number, Entry>} */
    this.chains = new Map();
    /** Keys being installed, by KID (from `add` or a ratchet followed). @type {Map<number, Promise<unknown>>} */
    this.installing = new Map();
    /** How many chains each sender started. @type {Map<string, number>} */
    this.started = new Map();
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
    const entry = { pid, base, chain: this.#chainFor(kid, pid), opened: false };
    this.chains.set(kid, entry);
    await this.#install(kid, (async () => this.receiver.addKey(kid, await this.derive(base)))());
    if (this.gone.has(pid) || this.chains.get(kid) !== entry) {
      this.receiver.removeKey(kid); // forgotten or retired while it was derived
      throw new KeyRefused("a key of a participant who left");
    }
    this.#retireBelow(kid, this.announcedRetireMs);
  }

  /**
   * The chain a key message's KID belongs to: the chain of the sender's key it continues
   * (within the ratchet window), else a new one, later than all the sender's chains.
   * @param {number} kid @param {string} pid
   */
  #chainFor(kid, pid) {
    const continued = this.#reaching(kid);
    if (continued?.pid === pid) return continued.chain;
    const chain = (this.started.get(pid) ?? 0) + 1;
    this.started.set(pid, chain);
    return chain;
  }

  /** @param {number} kid @param {string} pid */
  #check(kid, pid) {
    if (this.#spent(kid, pid)) throw new KeyRefused(`key id ${kid} was used before, or its sender left`);
    const owner = (this.chains.get(kid) ?? this.#reaching(kid))?.pid;
    if (owner !== undefined && owner !== pid) throw new KeyRefused(`key id ${kid} belongs to another participant`);
  }

  /** Was `pid`'s `kid` retired or forgotten, or did `pid` leave? @param {number} kid @param {string} pid */
  #spent(kid, pid) {
    return this.gone.has(pid) || this.spent.has(`${pid} ${kid}`);
  }

  /**
   * The key whose chain ratchets to `kid` (within the ratchet window), if any: its sender
   * owns `kid`.
   * @param {number} kid
   */
  #reaching(kid) {
    for (const [known, entry] of this.chains) {
      if (kid > known && kid - known <= RATCHET_WINDOW) return entry;
    }
    return undefined;
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
    if (this.#firstOpen(kid)) this.#opened(/** @type {number} */ (kid));
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
    if (!this.#firstOpen(kid)) return opening;
    return opening.then((plain) => (this.#opened(/** @type {number} */ (kid)), plain));
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
    if (!chain) return false; // no key, or one whose sender is gone: #unknown decides
    if (chain.pid !== pid) throw new SFrameError("sender", `KID ${kid} is another participant's key`);
    return this.receiver.has(kid) && (this.installing.size === 0 || !this.installing.has(kid));
  }

  /** Is this (if it opens) the first frame under `kid`? @param {number | bigint} kid */
  #firstOpen(kid) {
    return typeof kid === "number" && this.chains.get(kid)?.opened === false;
  }

  /** The first frame under `kid` opened: the keys it supersedes go soon. @param {number} kid */
  #opened(kid) {
    const entry = this.chains.get(kid);
    if (!entry || entry.opened) return;
    entry.opened = true;
    this.#retireBelow(kid, this.retireMs);
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
        if (this.#spent(kid, pid)) break;
        const followed = await this.#install(kid, this.#follow(kid, pid, open));
        if (followed) return followed.plain; // this frame opened with the ratcheted key
        break; // no chain of this sender reaches it
      }
      if (this.receiver.has(kid)) {
        // A key without an entry is one whose sender left while it was installed.
        if (this.chains.get(kid)?.pid !== pid) throw new SFrameError("sender", `KID ${kid} is not this participant's key`);
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
        // Forgotten, or the key it was followed from retired, while the frame was opened.
        if (this.gone.has(pid) || !this.chains.has(known)) throw new KeyRefused("changed meanwhile");
        this.chains.set(kid, { pid, base, chain: entry.chain, opened: true }); // a step of `known`'s chain
        this.#retireBelow(kid, this.retireMs);
        return { plain };
      } catch {
        this.receiver.removeKey(kid);
      }
    }
    return null;
  }

  /**
   * In `afterMs`, retire the keys of `kid`'s sender that `kid` supersedes: those of earlier
   * chains, and the lower steps of its own chain (if `kid` is still there then).
   * @param {number} kid @param {number} afterMs
   */
  #retireBelow(kid, afterMs) {
    setTimeout(() => {
      const newer = this.chains.get(kid);
      if (!newer) return;
      for (const [old, entry] of [...this.chains]) {
        if (entry.pid !== newer.pid) continue;
        if (entry.chain < newer.chain || (entry.chain === newer.chain && old < kid)) this.#retire(old, entry.pid);
      }
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
