// @ts-check
/**
 * Strings for text the room builds at run time. The server renders them, already in the
 * page's language, into `<script type="application/json" id="room-strings">` (data, not
 * code: CSP allows it).
 */

/** @type {Record<string, string>} */
let strings = {};

export function loadStrings() {
  const element = document.getElementById("room-strings");
  strings = element?.textContent ? JSON.parse(element.textContent) : {};
}

/**
 * @param {string} key
 * @param {Record<string, string | number>} [params]
 */
export function t(key, params = {}) {
  const template = strings[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? `{${name}}`));
}
