// @ts-check
/**
 * Replay protection for SFrame receivers (RFC 9605 section 9.3): per KID, the highest
 * counter accepted so far and which of the REPLAY_WINDOW counters below it were accepted.
 * A counter accepted before, or older than the window, is a replay. Only counters of frames
 * that authenticated may be accepted, so a forged frame can never move the window.
 *
 * Counters are U64 values as sframe.js keeps them: a Number below 2^53 (every counter a
 * Conclave sender uses), a BigInt from 2^53 on. The frame path never touches a BigInt.
 */

/** How far below the highest counter accepted a counter is still accepted (once). */
export const REPLAY_WINDOW = 128;

/** @typedef {number | bigint} U64 */

/** `a - b` for a >= b, exact below 2^53 (beyond, only compared with REPLAY_WINDOW). @param {U64} a @param {U64} b */
function distance(a, b) {
  if (typeof a === "number" && typeof b === "number") return a - b;
  return Number(BigInt(a) - BigInt(b));
}

/** A counter's slot in the ring: its value modulo REPLAY_WINDOW. @param {U64} ctr */
function slot(ctr) {
  return typeof ctr === "number" ? ctr % REPLAY_WINDOW : Number(ctr % BigInt(REPLAY_WINDOW));
}

export class ReplayWindow {
  /** @type {U64} */
  #highest = -1;
  /** Slot ctr % REPLAY_WINDOW is 1 when ctr, within the window below #highest, was accepted. */
  #seen = new Uint8Array(REPLAY_WINDOW);

  /**
   * Would `ctr` be new, neither accepted before nor older than the window?
   * @param {U64} ctr
   */
  allows(ctr) {
    if (ctr > this.#highest) return true;
    return distance(this.#highest, ctr) < REPLAY_WINDOW && this.#seen[slot(ctr)] === 0;
  }

  /**
   * Record the counter of an authenticated frame (one that `allows` let through).
   * @param {U64} ctr
   */
  accept(ctr) {
    if (ctr > this.#highest) {
      // The counters between the old highest and ctr enter the window unseen; their
      // slots held counters that now fall out of it.
      const shift = this.#highest === -1 ? REPLAY_WINDOW : distance(ctr, this.#highest);
      if (shift >= REPLAY_WINDOW) {
        this.#seen.fill(0);
      } else {
        const from = slot(this.#highest);
        for (let i = 1; i <= shift; i++) this.#seen[(from + i) % REPLAY_WINDOW] = 0;
      }
      this.#highest = ctr;
    } else if (distance(this.#highest, ctr) >= REPLAY_WINDOW) {
      return; // outside the window: `allows` refused it, and its slot belongs to another
    }
    this.#seen[slot(ctr)] = 1;
  }
}
