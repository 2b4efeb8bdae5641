// @ts-check
/**
 * Microphone, camera and screen controls, on the pre-join screen and in the call:
 * toggle buttons (aria-pressed), device selection, and the local preview.
 */
import { byId, make, setPressed } from "./dom.js";
import { t } from "../i18n.js";

/** @typedef {import("../media.js").LocalMedia} LocalMedia */
/** @typedef {(kind: "audio" | "camera" | "screen", track: MediaStreamTrack | null) => void | Promise<void>} Publish */

export class Devices {
  /**
   * @param {LocalMedia} media
   * @param {Publish} publish  called whenever a local track changes
   */
  constructor(media, publish) {
    this.media = media;
    this.publish = publish;
  }

  bind() {
    for (const [id, kind] of /** @type {const} */ ([["pre-mic", "audio"], ["mic", "audio"], ["pre-cam", "camera"], ["cam", "camera"]])) {
      byId(id).addEventListener("click", () => this.#toggle(kind));
    }
    byId("screen").addEventListener("click", () => this.#toggleScreen());
    this.media.addEventListener("screenended", () => this.#screenOff());
    for (const select of document.querySelectorAll("select[data-kind]")) {
      select.addEventListener("change", () => this.#choose(/** @type {HTMLSelectElement} */ (select)));
    }
    navigator.mediaDevices.addEventListener?.("devicechange", () => this.fillSelects());
    this.fillSelects();
  }

  /** @param {"audio" | "camera"} kind */
  async turnOff(kind) {
    await this.media.set(kind, false);
    await this.#changed(kind, null);
  }

  /** @param {"audio" | "camera"} kind */
  async #toggle(kind) {
    const on = !this.media[kind];
    try {
      const track = await this.media.set(kind, on);
      await this.#changed(kind, track);
    } catch {
      this.#problem(t("no_media_permission"));
    }
    this.fillSelects();
  }

  /**
   * @param {"audio" | "camera"} kind
   * @param {MediaStreamTrack | null} track
   */
  async #changed(kind, track) {
    if (kind === "camera") {
      const preview = /** @type {HTMLVideoElement} */ (byId("preview"));
      preview.srcObject = track ? new MediaStream([track]) : null;
    }
    this.syncButtons();
    await this.publish(kind, track);
  }

  async #toggleScreen() {
    if (this.media.screen) {
      this.media.stopScreen();
      await this.#screenOff();
      return;
    }
    try {
      const track = await this.media.shareScreen();
      this.syncButtons();
      await this.publish("screen", track);
    } catch {
      this.syncButtons();
    }
  }

  async #screenOff() {
    this.syncButtons();
    await this.publish("screen", null);
  }

  /** @param {HTMLSelectElement} select */
  async #choose(select) {
    const kind = /** @type {"audio" | "camera"} */ (select.dataset.kind);
    for (const other of document.querySelectorAll(`select[data-kind="${kind}"]`)) {
      /** @type {HTMLSelectElement} */ (other).value = select.value;
    }
    try {
      const track = await this.media.choose(kind, select.value);
      if (track) await this.#changed(kind, track);
    } catch {
      this.#problem(t("no_media_permission"));
    }
  }

  syncButtons() {
    setPressed(byId("pre-mic"), Boolean(this.media.audio));
    setPressed(byId("mic"), Boolean(this.media.audio));
    setPressed(byId("pre-cam"), Boolean(this.media.camera));
    setPressed(byId("cam"), Boolean(this.media.camera));
    setPressed(byId("screen"), Boolean(this.media.screen));
  }

  async fillSelects() {
    const devices = await this.media.devices();
    for (const select of document.querySelectorAll("select[data-kind]")) {
      const element = /** @type {HTMLSelectElement} */ (select);
      const kind = /** @type {"audio" | "camera"} */ (element.dataset.kind);
      const chosen = this.media.deviceIds[kind] || "";
      // Which menu is which, even where its label is not shown (the call bar).
      const options = [make("option", { value: "" }, t(kind === "audio" ? "default_microphone" : "default_camera"))];
      devices[kind].forEach((device, index) => {
        if (!device.deviceId) return;
        options.push(make("option", { value: device.deviceId }, device.label || `${kind} ${index + 1}`));
      });
      element.replaceChildren(...options);
      element.value = chosen;
    }
  }

  /** @param {string} text */
  #problem(text) {
    const element = byId("prejoin-error");
    element.textContent = text;
    element.hidden = false;
  }
}
