// @ts-check
/**
 * The keys of every sender we receive from, by KID, with their ratchet chains: a frame
 * with an unknown KID just ahead of a known one of the same sender is opened with the
 * ratcheted key (everyone ratchets when someone joins). Used by the frame worker for
 * media and by the page for chat. No DOM.
 */
import { SFrameReceiver, SFrameError, decodeHeader } from "./sframe.js";
import { ratchetTo } from "./derive.js";

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
  }

  /**
   * @param {number} kid
   * @param {Uint8Array} base
   * @param {string} pid
   */
  async add(kid, base, pid) {
    if (this.chains.has(kid)) return;
    this.chains.set(kid, { pid, base });
    await this.receiver.addKey(BigInt(kid), await this.derive(base));
  }

  /** @param {string} pid */
  forget(pid) {
    for (const [kid, entry] of [...this.chains]) {
      if (entry.pid !== pid) continue;
      this.chains.delete(kid);
      this.receiver.removeKey(BigInt(kid));
    }
  }

  /**
   * Decrypt; throws SFrameError (reason "malformed", "unknown_kid", "replay", "auth").
   * @param {Uint8Array} metadata
   * @param {Uint8Array} data
   * @returns {Promise<{plain: Uint8Array, pid: string}>}
   */
  async decrypt(metadata, data) {
    const kid = Number(kidOf(data));
    try {
      const plain = await this.receiver.decrypt(metadata, data);
      return { plain, pid: this.chains.get(kid)?.pid ?? "" };
    } catch (error) {
      if (!(error instanceof SFrameError) || error.reason !== "unknown_kid") throw error;
      return this.#follow(kid, metadata, data, error);
    }
  }

  /**
   * @param {number} kid
   * @param {Uint8Array} metadata
   * @param {Uint8Array} data
   * @param {SFrameError} error
   */
  async #follow(kid, metadata, data, error) {
    for (const [known, entry] of [...this.chains]) {
      const base = await ratchetTo(known, entry.base, kid);
      if (!base) continue;
      await this.receiver.addKey(BigInt(kid), await this.derive(base));
      try {
        const plain = await this.receiver.decrypt(metadata, data);
        this.chains.set(kid, { pid: entry.pid, base });
        return { plain, pid: entry.pid };
      } catch {
        this.receiver.removeKey(BigInt(kid)); // another sender's chain
      }
    }
    throw error;
  }
}

/**
 * The KID in an SFrame header, or -1 when it cannot be read (decrypt then says why).
 * @param {Uint8Array} data
 */
export function kidOf(data) {
  try {
    return decodeHeader(data).kid;
  } catch {
    return -1n;
  }
}
