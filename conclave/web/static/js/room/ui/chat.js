// @ts-check
/**
 * The chat: kept in this page's memory only, cleared when the user leaves, when the
 * meeting ends and when a host deletes the history for everyone.
 */
import { make } from "./dom.js";
import { t } from "../i18n.js";
import { formattingLocale } from "../../locale.js";

export const MAX_CHAT_CHARS = 4000;

export class Chat {
  /**
   * @param {HTMLElement} log
   * @param {HTMLFormElement} form
   * @param {HTMLInputElement} input
   * @param {HTMLElement} error
   * @param {(text: string) => boolean} send
   */
  constructor(log, form, input, error, send) {
    this.log = log;
    this.input = input;
    this.error = error;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = input.value.trim();
      if (!text) return;
      if (text.length > MAX_CHAT_CHARS) {
        this.showError(t("chat_too_long"));
        return;
      }
      if (send(text)) {
        input.value = "";
        this.error.hidden = true;
      }
    });
  }

  /**
   * @param {{name: string, text: string, ts: number}} message
   * @param {boolean} mine
   */
  add(message, mine) {
    const item = make("li", { class: mine ? "mine" : "" });
    const time = new Date(message.ts).toLocaleTimeString(formattingLocale(), {
      hour: "2-digit",
      minute: "2-digit",
    });
    item.append(make("span", { class: "who" }, `${message.name} · ${time}`));
    item.append(make("span", { class: "text" }, message.text));
    this.log.append(item);
    item.scrollIntoView({ block: "nearest" });
    return item;
  }

  /**
   * Replace the text of a message shown earlier (e.g. once it could be decrypted).
   * @param {HTMLElement} item
   * @param {string} text
   */
  update(item, text) {
    const element = item.querySelector(".text");
    if (element) element.textContent = text;
  }

  /** @param {string} text */
  showError(text) {
    this.error.textContent = text;
    this.error.hidden = false;
  }

  /** Forget every message. */
  clear() {
    this.log.replaceChildren();
    this.input.value = "";
  }
}
