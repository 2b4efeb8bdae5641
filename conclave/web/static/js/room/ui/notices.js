// @ts-check
/**
 * The room's notices: short news ("Ivan joined", "A host muted your microphone") shown for
 * a few seconds, and states that last until they are over ("Media connection lost.
 * Reconnecting…"). All go into one polite live region that stays in the page (a region
 * shown only when it has something to say is not reliably announced), so screen readers
 * read each new notice once, without interrupting.
 */
import { make } from "./dom.js";

/** How long a passing notice stays on screen. */
export const NOTICE_MS = 6000;
/** At most this many passing notices at once: the oldest goes first. */
const MAX_PASSING = 3;

export class Notices {
  /** @param {HTMLElement} region  an element with `aria-live="polite"` */
  constructor(region) {
    this.region = region;
    /** @type {Map<string, HTMLElement>} */
    this.held = new Map();
    /** @type {Set<HTMLElement>} */
    this.passing = new Set();
  }

  /**
   * News: shown for `NOTICE_MS`, then removed.
   * @param {string} text
   */
  show(text) {
    const item = make("p", { class: "notice" }, text);
    this.passing.add(item);
    this.region.append(item);
    setTimeout(() => this.#drop(item), NOTICE_MS);
    for (const old of [...this.passing].slice(0, -MAX_PASSING)) this.#drop(old);
  }

  /**
   * A state, shown until `release(key)` (shown once however often it is held).
   * @param {string} key
   * @param {string} text
   */
  hold(key, text) {
    if (this.held.has(key)) return;
    const item = make("p", { class: "notice warning", "data-key": key }, text);
    this.held.set(key, item);
    this.region.prepend(item);
  }

  /** @param {string} key */
  release(key) {
    this.held.get(key)?.remove();
    this.held.delete(key);
  }

  /** @param {HTMLElement} item */
  #drop(item) {
    item.remove();
    this.passing.delete(item);
  }
}

/**
 * Which media connections are lost: while any is, "Media connection lost. Reconnecting…"
 * is held; it goes once every one is connected again (or closed). Connections are named
 * by the call: a participant's pid (direct calls) or "sfu".
 */
export class MediaWatch {
  /**
   * @param {Notices} notices
   * @param {() => string} text  the notice, in the page's language
   */
  constructor(notices, text) {
    this.notices = notices;
    this.text = text;
    /** @type {Set<string>} */
    this.lost = new Set();
  }

  /**
   * Follow a call's connections (`Call` or `SfuCall`: the events `peerstate` {pid, state}
   * and `peerclosed` {pid}). Through the SFU, pid is "sfu" for both of its connections:
   * they are one media connection to the user.
   * @param {EventTarget} call
   */
  follow(call) {
    call.addEventListener("peerstate", (event) => {
      const { pid, state } = /** @type {CustomEvent} */ (event).detail;
      this.state(pid, state);
    });
    call.addEventListener("peerclosed", (event) => this.closed(/** @type {CustomEvent} */ (event).detail.pid));
  }

  /**
   * A connection's `connectionState` changed.
   * @param {string} id
   * @param {RTCPeerConnectionState} state
   */
  state(id, state) {
    if (state === "disconnected" || state === "failed") this.lose(id);
    else if (state === "connected" || state === "closed") this.#back(id);
  }

  /** The connection is lost and being made again. @param {string} id */
  lose(id) {
    this.lost.add(id);
    this.notices.hold("media", this.text());
  }

  /** The connection is gone for good (its participant left, or the call ended). @param {string} id */
  closed(id) {
    this.#back(id);
  }

  /** Every connection is gone (a fresh start, or the end of the call). */
  reset() {
    this.lost.clear();
    this.notices.release("media");
  }

  /** @param {string} id */
  #back(id) {
    this.lost.delete(id);
    if (this.lost.size === 0) this.notices.release("media");
  }
}
