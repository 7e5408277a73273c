import { describe, it, expect } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const WEB = fileURLToPath(new URL('../../admin-ui/web/', import.meta.url));

/** Reads a dictionary file as data (it is a plain `export default { 'key': 'text', … }`). */
function dictionary(lang: string): Record<string, string> {
  const text = readFileSync(join(WEB, 'i18n', `${lang}.js`), 'utf8');
  const entries: Record<string, string> = {};
  for (const match of text.matchAll(/^\s*'([^']+)':\s*'((?:[^'\\]|\\.)*)',?\s*$/gm)) entries[match[1]!] = match[2]!;
  return entries;
}

function sources(dir = WEB): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? (entry.name === 'i18n' ? [] : sources(join(dir, entry.name))) : entry.name.endsWith('.js') ? [readFileSync(join(dir, entry.name), 'utf8')] : [],
  );
}

const placeholders = (text: string) => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();

describe('admin UI translations', () => {
  const en = dictionary('en');

  it('has every text the app uses in English', () => {
    const used = new Set<string>();
    for (const source of sources()) for (const m of source.matchAll(/\bt\('([a-zA-Z.-]+)'/g)) used.add(m[1]!);
    expect(used.size).toBeGreaterThan(150);
    expect([...used].filter((key) => !(key in en))).toEqual([]);
    // Keys built at run time: their every variant exists.
    for (const key of ['account.quota.storage', 'account.quota.meetingMinutes', 'account.quota.recordingStorage', 'history.action.initial', 'history.action.update', 'history.action.revert', 'billing.basis.use', 'billing.basis.unallocated', 'billing.basis.no-fee', 'policy.storage', 'policy.recordingStorage', 'policy.meetingMinutes', 'policy.hostedMinutesPerDay', 'weights.requests', 'weights.bytesInPerMiB', 'weights.bytesOutPerMiB', 'weights.storageGiBDays', 'weights.hostMinutes', 'weights.participantMinutes']) {
      expect([key, key in en]).toEqual([key, true]);
    }
  });

  it.each(['ca', 'es'])('translates every English text into %s, with the same placeholders', (lang) => {
    const other = dictionary(lang);
    expect(Object.keys(other).sort()).toEqual(Object.keys(en).sort());
    for (const [key, text] of Object.entries(en)) expect([key, placeholders(other[key]!)]).toEqual([key, placeholders(text)]);
    // Not English copied over: most texts differ.
    const same = Object.keys(en).filter((key) => en[key] === other[key] && !/^[{}\w\s()%:-]*$/.test(en[key]!));
    expect(same.length).toBeLessThan(10);
  });
});
