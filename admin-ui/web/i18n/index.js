// Translations: English, Catalan, Spanish. The language is the one picked with the switcher (kept in
// localStorage), else the browser's first supported one, else English. Missing keys fall back to English.
import en from './en.js';
import ca from './ca.js';
import es from './es.js';

/** @type {Record<string, Record<string, string>>} */
const DICTIONARIES = { en, ca, es };
export const LANGUAGES = /** @type {const} */ ({ en: 'English', ca: 'Català', es: 'Español' });
const KEY = 'porta.lang';

function pick() {
  const saved = localStorage.getItem(KEY);
  if (saved && saved in DICTIONARIES) return saved;
  for (const tag of navigator.languages ?? [navigator.language]) {
    const base = tag.toLowerCase().split('-')[0] ?? '';
    if (base in DICTIONARIES) return base;
  }
  return 'en';
}

let language = pick();

export function currentLanguage() {
  return language;
}

/** @param {string} next */
export function setLanguage(next) {
  if (!(next in DICTIONARIES)) return;
  language = next;
  localStorage.setItem(KEY, next);
  document.documentElement.lang = next;
}

/**
 * @param {string} key
 * @param {Record<string, string | number>} [params] replaces `{name}` in the text
 */
export function t(key, params) {
  const text = DICTIONARIES[language]?.[key] ?? /** @type {Record<string, string>} */ (en)[key] ?? key;
  return params ? text.replace(/\{(\w+)\}/g, (whole, name) => (name in params ? String(params[name]) : whole)) : text;
}

const locale = () => ({ en: 'en-GB', ca: 'ca-ES', es: 'es-ES' })[language] ?? 'en-GB';

/** @param {number} n */
export const formatNumber = (n) => new Intl.NumberFormat(locale(), { maximumFractionDigits: 2 }).format(n);

/** @param {number} cents */
export const formatMoney = (cents) => new Intl.NumberFormat(locale(), { style: 'currency', currency: 'EUR' }).format(cents / 100);

/** @param {number | string | undefined} time */
export const formatTime = (time) => (time === undefined ? '' : new Intl.DateTimeFormat(locale(), { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(time)));

/** Binary units, as the policies write them ("5 GB" = 5 × 1024³ bytes). @param {number | null | undefined} bytes */
export function formatBytes(bytes) {
  if (bytes === null || bytes === undefined) return t('common.unlimited');
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${formatNumber(Math.round(value * 10) / 10)} ${units[unit]}`;
}

document.documentElement.lang = language;
