// @ts-check
/**
 * The first peer connection, made on the pre-join screen (call.js `prepareOffer`) so that
 * its offer can travel with `hello` (docs/protocol.md, "Handshake"). No DOM here.
 */
import { prepareOffer, preparedOffer } from "./call.js";

export class PreparedConnection {
  /** @param {() => any} hooks  the E2EE frame hooks at the time the connection is made */
  constructor(hooks) {
    this.hooks = hooks;
    /** @type {Promise<RTCPeerConnection | null> | null} */
    this.connection = null;
    /** The prepared connection whose offer went with hello. @type {RTCPeerConnection | null} */
    this.offered = null;
    /** Made again once camera or microphone were allowed (real addresses, not mDNS names). */
    this.withDevices = false;
  }

  /** (Re)make the prepared connection, closing one made before. */
  make() {
    const before = this.connection;
    this.connection = (async () => {
      (await before)?.close();
      return prepareOffer({ hooks: this.hooks() });
    })().catch((error) => {
      console.warn("could not prepare a connection", error);
      return null;
    });
  }

  /**
   * Until camera or microphone are allowed, Chromium names this machine's addresses only by
   * mDNS names: once a device is on (and before Join), the connection is made again.
   */
  deviceAllowed() {
    if (!this.connection || this.withDevices) return;
    this.withDevices = true;
    this.make();
  }

  /** The offer to send with hello, if a connection was prepared; it is not made again after. */
  async offer() {
    const connection = await this.connection;
    const offer = connection ? await preparedOffer(connection) : undefined;
    this.offered = offer ? connection : null;
    return offer;
  }

  /**
   * The prepared connection, once: null when the meeting does not fit it (closed then).
   * @param {boolean} usable
   */
  async take(usable) {
    const connection = await this.connection;
    this.connection = null;
    if (usable) return connection;
    connection?.close();
    return null;
  }
}
