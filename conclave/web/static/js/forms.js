// @ts-check
/**
 * Progressive enhancements for server-rendered forms. Pages work without it.
 * - fills hidden `tz_offset` fields with the browser's UTC offset (minutes),
 *   so `datetime-local` values are stored in UTC;
 * - shows `<time data-local>` values in the browser's time zone, written as the browser's
 *   locale writes dates (locale.js; `data-seconds`: with seconds);
 * - asks before destructive actions marked with `data-confirm`;
 * - copies the text a `data-copy` button names, and says whether it worked.
 */
import { formattingLocale } from "./locale.js";

for (const field of document.querySelectorAll('input[name="tz_offset"]')) {
  /** @type {HTMLInputElement} */ (field).value = String(new Date().getTimezoneOffset());
}

for (const element of document.querySelectorAll("time[data-local]")) {
  const value = element.getAttribute("datetime");
  if (value) {
    element.textContent = new Date(value).toLocaleString(formattingLocale(), {
      dateStyle: "medium",
      timeStyle: element.hasAttribute("data-seconds") ? "medium" : "short",
    });
  }
}

for (const form of document.querySelectorAll("form[data-confirm]")) {
  form.addEventListener("submit", (event) => {
    const question = form.getAttribute("data-confirm") || "";
    if (!window.confirm(question)) event.preventDefault();
  });
}

for (const button of document.querySelectorAll("button[data-copy]")) {
  const status = button.parentElement?.querySelector("[data-copy-status]");
  button.addEventListener("click", async () => {
    const target = document.getElementById(button.getAttribute("data-copy") || "");
    if (!target?.textContent) return;
    try {
      await navigator.clipboard.writeText(target.textContent.trim());
      if (status) status.textContent = button.getAttribute("data-done") || "";
    } catch {
      if (status) status.textContent = button.getAttribute("data-failed") || "";
    }
  });
}
