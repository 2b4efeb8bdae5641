// @ts-check
/**
 * Which leading bytes of an encoded frame stay unencrypted. SFrame encrypts the rest and
 * authenticates these bytes as its metadata, so they cannot be altered unnoticed.
 *
 * Chromium's VP8 depacketiser reads the VP8 payload header of every frame it receives
 * (RFC 6386 section 9.1): the key-frame bit in the first byte of the 3-byte frame tag, and
 * on key frames the start code and picture size that follow (7 more bytes). Encrypted,
 * those bits are random: a receiver takes delta frames for key frames and key frames for
 * delta frames, and after one lost packet it asks for key frames it cannot recognise.
 * The header says whether a frame is a key frame and how large the picture is, which an
 * SFU sees anyway; no picture content. Audio (Opus) frames are encrypted whole. No DOM.
 */

/** Frame tag, start code and picture size of a VP8 key frame. */
export const VP8_KEY_FRAME_CLEAR = 10;
/** Frame tag of a VP8 delta frame. */
export const VP8_DELTA_FRAME_CLEAR = 3;

/**
 * @typedef {object} EncodedFrameLike
 * @property {string} [type]  "key" | "delta" | "empty" on video frames, absent on audio
 * @property {() => {mimeType?: string}} [getMetadata]
 */

/**
 * The clear bytes of one stream's frames. Whether the stream is VP8 is read from the
 * metadata of its key frames only: a codec changes only with a key frame, and
 * `getMetadata()` builds a whole dictionary per call (measurable at 700 frames a second).
 */
export class StreamFraming {
  constructor() {
    /** The stream's video is VP8 (undefined: not known yet). @type {boolean | undefined} */
    this.vp8 = undefined;
  }

  /**
   * How many leading bytes of this frame travel in the clear.
   * @param {EncodedFrameLike} frame
   * @param {number} length  the frame's size in bytes
   */
  clearLength(frame, length) {
    if (frame.type === undefined) return 0; // audio
    if (frame.type === "key" || this.vp8 === undefined) {
      const mime = frame.getMetadata?.().mimeType;
      this.vp8 = !mime || mime.toLowerCase() === "video/vp8";
    }
    if (!this.vp8) return 0;
    return Math.min(length, frame.type === "key" ? VP8_KEY_FRAME_CLEAR : VP8_DELTA_FRAME_CLEAR);
  }
}
