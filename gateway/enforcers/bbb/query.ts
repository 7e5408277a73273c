/**
 * A BigBlueButton query string kept as the caller wrote it. Checksums sign the exact bytes, so
 * untouched parameters keep their original encoding; only the parameters the enforcer drops or
 * appends change.
 */
export interface QueryParam {
  /** As written (still URL-encoded). */
  raw: string;
  key: string;
  value: string;
}

function decode(text: string): string {
  try {
    return decodeURIComponent(text.replace(/\+/g, ' '));
  } catch {
    return text;
  }
}

export class BbbQuery {
  params: QueryParam[];

  constructor(rawQuery: string) {
    const text = rawQuery.startsWith('?') ? rawQuery.slice(1) : rawQuery;
    this.params = text === '' ? [] : text.split('&').filter((p) => p !== '').map((raw) => {
      const eq = raw.indexOf('=');
      return { raw, key: decode(eq < 0 ? raw : raw.slice(0, eq)), value: eq < 0 ? '' : decode(raw.slice(eq + 1)) };
    });
  }

  /** The last value of `key` (exact case, as BigBlueButton reads parameters). */
  get(key: string): string | undefined {
    return this.params.findLast((p) => p.key === key)?.value;
  }

  /** Drops every parameter whose name equals `key` in any letter case. */
  dropAnyCase(key: string): this {
    const lower = key.toLowerCase();
    this.params = this.params.filter((p) => p.key.toLowerCase() !== lower);
    return this;
  }

  append(key: string, value: string): this {
    this.params.push({ raw: `${encodeURIComponent(key)}=${encodeURIComponent(value)}`, key, value });
    return this;
  }

  toString(): string {
    return this.params.map((p) => p.raw).join('&');
  }
}
