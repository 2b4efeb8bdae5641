// @ts-check
/**
 * The locale dates and times are written in: the browser's own, in the page's language.
 * An en-GB browser on an English page gets "7 Dec 2026, 14:30", an en-US one
 * "Dec 7, 2026, 2:30 PM"; a German browser reading the English page gets English words
 * in its region's way ("en-DE"). The server does the same for the page it sends
 * (conclave/i18n/dates.py).
 */

/**
 * @param {string} [lang]  the page's language
 * @param {readonly string[]} [preferred]  the browser's locales, most preferred first
 */
export function formattingLocale(lang = document.documentElement.lang || "en", preferred = navigator.languages) {
  for (const tag of preferred) {
    if (language(tag) === lang) return tag;
  }
  const region = preferred.length ? regionOf(preferred[0]) : undefined;
  const mixed = region ? `${lang}-${region}` : lang;
  return Intl.DateTimeFormat.supportedLocalesOf([mixed]).length ? mixed : lang;
}

/** @param {string} tag */
function language(tag) {
  try {
    return new Intl.Locale(tag).language;
  } catch {
    return "";
  }
}

/** @param {string} tag */
function regionOf(tag) {
  try {
    return new Intl.Locale(tag).maximize().region;
  } catch {
    return undefined;
  }
}
