/** Languages of the IdP pages: chosen by `?lang=`, then the `porta_lang` cookie, then Accept-Language. */
import { en, type Catalogue, type MessageKey } from './en.ts';
import { ca } from './ca.ts';
import { es } from './es.ts';

export type { MessageKey };
export const LANGUAGES = ['en', 'ca', 'es'] as const;
export type Language = (typeof LANGUAGES)[number];
export const LANG_COOKIE = 'porta_lang';

const CATALOGUES: Record<Language, Catalogue> = { en, ca, es };

export function isLanguage(value: unknown): value is Language {
  return typeof value === 'string' && (LANGUAGES as readonly string[]).includes(value);
}

/** Best match of an Accept-Language header (`ca-ES,ca;q=0.9,en;q=0.5`) among our languages. */
export function fromAcceptLanguage(header: string | undefined): Language | undefined {
  if (!header) return undefined;
  const ranked = header
    .split(',')
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
      return { base: tag.toLowerCase().split('-')[0], q: q ? Number(q.slice(2)) || 0 : 1, index };
    })
    .filter((entry) => entry.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  return ranked.map((entry) => entry.base).find(isLanguage);
}

export function pickLanguage(input: { query?: unknown; cookie?: string; acceptLanguage?: string }): Language {
  if (isLanguage(input.query)) return input.query;
  if (isLanguage(input.cookie)) return input.cookie;
  return fromAcceptLanguage(input.acceptLanguage) ?? 'en';
}

/** The message in `lang`, with `{name}` placeholders filled (values are escaped later by the template). */
export function translate(lang: Language, key: MessageKey, vars: Record<string, string | number> = {}): string {
  const text = CATALOGUES[lang][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => (name in vars ? String(vars[name]) : whole));
}

export type Translate = (key: MessageKey, vars?: Record<string, string | number>) => string;

export function translator(lang: Language): Translate {
  return (key, vars) => translate(lang, key, vars);
}
