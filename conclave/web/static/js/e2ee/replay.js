// @ts-check
/**
 * Replay protection for SFrame receivers (RFC 9605 section 9.3): per KID, the highest
 * counter accepted so far and a bitmap of the REPLAY_WINDOW counters below it. A counter
 * accepted before, or older than the window, is a replay. Only counters of frames that
 * authenticated may be accepted, so a forged frame can never move the window.
 */

/** How far below the highest counter accepted a counter is still accepted (once). */
export const REPLAY_WINDOW = 128n;

const MASK = (1n << REPLAY_WINDOW) - 1n;

export class ReplayWindow {
  #highest = -1n;
  #seen = 0n; // bit i set: counter #highest - i was accepted

  /**
   * Would `ctr` be new, neither accepted before nor older than the window?
   * @param {bigint} ctr
   */
  allows(ctr) {
    if (ctr > this.#highest) return true;
    const age = this.#highest - ctr;
    return age < REPLAY_WINDOW && ((this.#seen >> age) & 1n) === 0n;
  }

  /**
   * Record the counter of an authenticated frame (one that `allows` let through).
   * @param {bigint} ctr
   */
  accept(ctr) {
    if (ctr <= this.#highest) {
      this.#seen |= 1n << (this.#highest - ctr);
      return;
    }
    const shift = ctr - this.#highest;
    this.#seen = shift >= REPLAY_WINDOW ? 1n : ((this.#seen << shift) | 1n) & MASK;
    this.#highest = ctr;
  }
}
