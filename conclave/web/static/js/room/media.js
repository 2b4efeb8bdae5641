// @ts-check
/**
 * Local devices: microphone, camera and screen, each off until the user turns it on.
 * Turning a device off stops its track, so the camera light goes out. No DOM here.
 */

/** @typedef {"audio" | "camera"} DeviceKind */

export class LocalMedia extends EventTarget {
  constructor() {
    super();
    /** @type {MediaStreamTrack | null} */
    this.audio = null;
    /** @type {MediaStreamTrack | null} */
    this.camera = null;
    /** @type {MediaStreamTrack | null} */
    this.screen = null;
    /** @type {{audio?: string, camera?: string}} */
    this.deviceIds = {};
  }

  /**
   * Turn the microphone or camera on (with the chosen device) or off.
   * @param {DeviceKind} kind
   * @param {boolean} on
   * @returns {Promise<MediaStreamTrack | null>}
   */
  async set(kind, on) {
    this.#stop(kind);
    if (!on) return null;
    const deviceId = this.deviceIds[kind];
    const wanted = deviceId ? { deviceId: { exact: deviceId } } : true;
    const constraints =
      kind === "audio"
        ? { audio: wanted === true ? { echoCancellation: true, noiseSuppression: true } : wanted }
        : { video: wanted === true ? { width: 640, height: 480 } : { ...wanted, width: 640, height: 480 } };
    const stream = await navigator.mediaDevices.getUserMedia(constraints);
    const track = kind === "audio" ? stream.getAudioTracks()[0] : stream.getVideoTracks()[0];
    this[kind] = track;
    return track;
  }

  /**
   * Choose a device; if that kind is on, switch to it now.
   * @param {DeviceKind} kind
   * @param {string} deviceId
   */
  async choose(kind, deviceId) {
    this.deviceIds[kind] = deviceId;
    return this[kind] ? this.set(kind, true) : null;
  }

  /** @returns {Promise<MediaStreamTrack | null>} */
  async shareScreen() {
    this.stopScreen();
    const stream = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
    const track = stream.getVideoTracks()[0];
    track.addEventListener("ended", () => {
      if (this.screen === track) {
        this.screen = null;
        this.dispatchEvent(new CustomEvent("screenended"));
      }
    });
    this.screen = track;
    return track;
  }

  stopScreen() {
    this.screen?.stop();
    this.screen = null;
  }

  /** Microphones and cameras (labels appear once the user has allowed access). */
  async devices() {
    const all = await navigator.mediaDevices.enumerateDevices();
    return {
      audio: all.filter((d) => d.kind === "audioinput"),
      camera: all.filter((d) => d.kind === "videoinput"),
    };
  }

  stopAll() {
    this.#stop("audio");
    this.#stop("camera");
    this.stopScreen();
  }

  /** @param {DeviceKind} kind */
  #stop(kind) {
    this[kind]?.stop();
    this[kind] = null;
  }
}
