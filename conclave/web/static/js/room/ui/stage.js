// @ts-check
/**
 * The video grid: one tile per participant (and one for a shared screen), sized by
 * CSS grid to the number of tiles, with the active speaker highlighted.
 */
import { make } from "./dom.js";
import { t } from "../i18n.js";

const SPEAKING_LEVEL = 0.03;

export class Stage {
  /** @param {HTMLElement} grid */
  constructor(grid) {
    this.grid = grid;
    /** @type {Map<string, {tile: HTMLElement, video: HTMLVideoElement, audio: HTMLAudioElement | null, caption: HTMLElement}>} */
    this.tiles = new Map();
  }

  /**
   * @param {string} key   a pid, or "pid:screen" for a shared screen
   * @param {string} name
   * @param {boolean} self
   */
  tile(key, name, self = false) {
    let entry = this.tiles.get(key);
    if (!entry) {
      const tile = make("figure", { class: self ? "tile self" : "tile", "data-pid": key });
      const video = /** @type {HTMLVideoElement} */ (make("video", { autoplay: "", playsinline: "" }));
      video.muted = true; // sound plays through the <audio> element
      const caption = make("figcaption");
      tile.append(video, caption);
      this.grid.append(tile);
      entry = { tile, video, audio: null, caption };
      this.tiles.set(key, entry);
      this.#layout();
    }
    entry.caption.textContent = self ? `${name} (${t("you")})` : name;
    return entry;
  }

  /**
   * @param {string} key
   * @param {MediaStreamTrack | null} track
   */
  showVideo(key, track) {
    const entry = this.tiles.get(key);
    if (!entry) return;
    entry.video.srcObject = track ? new MediaStream([track]) : null;
    entry.tile.classList.toggle("has-video", Boolean(track));
  }

  /**
   * @param {string} key
   * @param {MediaStreamTrack} track
   */
  playAudio(key, track) {
    const entry = this.tiles.get(key);
    if (!entry) return;
    if (!entry.audio) {
      entry.audio = /** @type {HTMLAudioElement} */ (make("audio", { autoplay: "" }));
      entry.tile.append(entry.audio);
    }
    entry.audio.srcObject = new MediaStream([track]);
  }

  /**
   * @param {string} key
   * @param {{cam?: boolean, mic?: boolean, hand?: boolean}} state
   */
  setState(key, state) {
    const entry = this.tiles.get(key);
    if (!entry) return;
    if (state.cam !== undefined) entry.tile.classList.toggle("cam-off", !state.cam);
    if (state.mic !== undefined) entry.tile.classList.toggle("mic-off", !state.mic);
    if (state.hand !== undefined) entry.tile.classList.toggle("hand", state.hand);
  }

  /**
   * @param {string} key
   * @param {number} level  0..1
   */
  setLevel(key, level) {
    this.tiles.get(key)?.tile.classList.toggle("speaking", level > SPEAKING_LEVEL);
  }

  /** The width of each tile's picture in device pixels. @returns {Map<string, number>} */
  widths() {
    return new Map([...this.tiles].map(([key, entry]) => [key, entry.video.clientWidth * devicePixelRatio]));
  }

  /** @param {string} key */
  remove(key) {
    const entry = this.tiles.get(key);
    if (!entry) return;
    entry.video.srcObject = null;
    if (entry.audio) entry.audio.srcObject = null;
    entry.tile.remove();
    this.tiles.delete(key);
    this.#layout();
  }

  clear() {
    for (const key of [...this.tiles.keys()]) this.remove(key);
  }

  #layout() {
    const count = Math.max(1, this.tiles.size);
    const columns = Math.ceil(Math.sqrt(count));
    this.grid.style.setProperty("--columns", String(columns));
  }
}
