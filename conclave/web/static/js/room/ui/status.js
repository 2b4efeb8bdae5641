// @ts-check
/**
 * The room's status line: the signaling connection ("Connecting…", "Connection lost.
 * Reconnecting…", "Connected") and the encryption badge with the security code, always
 * visible. DOM only.
 */
import { t } from "../i18n.js";

/** Per-person key states that are a warning for everyone. */
const PROBLEMS = ["changed", "invalid", "failing"];

export class StatusLine {
  /**
   * @param {HTMLElement} connection
   * @param {HTMLElement} badge
   * @param {HTMLElement} code
   * @param {HTMLElement} verify  the security-code section, hidden without encryption
   */
  constructor(connection, badge, code, verify) {
    this.connectionElement = connection;
    this.badge = badge;
    this.code = code;
    this.verify = verify;
  }

  /** @param {"connecting" | "open" | "reconnecting"} state */
  connection(state) {
    const element = this.connectionElement;
    if (state === "reconnecting") {
      element.textContent = t("reconnecting");
      element.className = "warning";
    } else if (state === "open") {
      element.textContent = t("connected");
      element.className = "";
    } else {
      element.textContent = t("connecting");
    }
  }

  /**
   * @param {{verified: boolean, code: string, peers: Map<string, {status: string, theyFail: boolean}>} | null} state
   *   the E2EE controller's state; null: the meeting is not encrypted
   */
  encryption(state) {
    if (state === null) {
      this.badge.textContent = t("e2ee_off");
      this.badge.className = "badge warning";
      this.verify.hidden = true;
      return;
    }
    const problems = [...state.peers.values()].some((p) => PROBLEMS.includes(p.status) || p.theyFail);
    const text = problems ? t("e2ee_problem") : state.verified ? t("e2ee_verified") : t("e2ee_unverified");
    if (this.badge.textContent !== text) this.badge.textContent = text;
    this.badge.className = problems ? "badge warning" : state.verified ? "badge ok" : "badge";
    if (this.code.textContent !== state.code) this.code.textContent = state.code;
  }
}
