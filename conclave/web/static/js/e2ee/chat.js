// @ts-check
/**
 * Chat through the E2EE controller: sealing what is sent, opening what arrives. A message
 * that arrives before its sender's key waits (shown as "decrypting") and is opened when
 * keys change, or given up after a while. No DOM here: the room says how to show a message.
 */

const PENDING_MS = 15000;

/**
 * @template Item
 * @typedef {{sealed: string, from: string, item: Item, until: number}} Pending
 */

/** @template Item */
export class ChatCrypt {
  /**
   * @param {import("./session.js").E2EE | null} e2ee  null: the meeting is not encrypted
   * @param {{add: (message: any, text: string | null) => Item, update: (item: Item, text: string | null) => void}} view
   *   `text` null: not (yet) readable; `update` with null: given up
   */
  constructor(e2ee, view) {
    this.e2ee = e2ee;
    this.view = view;
    /** @type {Pending<Item>[]} */
    this.pending = [];
  }

  /**
   * The text as it goes on the wire.
   * @param {string} text
   */
  async seal(text) {
    return this.e2ee ? this.e2ee.encryptChat(text) : text;
  }

  /**
   * A relayed message `{from, text, ...}`: shown opened, or waiting for its key.
   * @param {{from: string, text: string}} message
   */
  async receive(message) {
    if (!this.e2ee) {
      this.view.add(message, message.text);
      return;
    }
    const text = await this.e2ee.decryptChat(message.text, message.from);
    const item = this.view.add(message, text);
    if (text === null) this.pending.push({ sealed: message.text, from: message.from, item, until: Date.now() + PENDING_MS });
  }

  /** Keys changed: open what waited for them. */
  async retry() {
    if (!this.e2ee || this.pending.length === 0) return;
    const waiting = this.pending;
    this.pending = [];
    for (const entry of waiting) {
      const text = await this.e2ee.decryptChat(entry.sealed, entry.from);
      if (text !== null) this.view.update(entry.item, text);
      else if (Date.now() > entry.until) this.view.update(entry.item, null);
      else this.pending.push(entry);
    }
  }

  /** The chat was wiped (cleared by a host, or the meeting is over). */
  clear() {
    this.pending = [];
  }
}
