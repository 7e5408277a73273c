/** JSON encoding shared by both store implementations, so both refuse the same documents. */

/**
 * Encodes `value` as JSON or throws a TypeError that names `what`. Values JSON cannot represent
 * faithfully as a document (BigInt, cycles, a bare function or undefined) are refused rather than
 * silently turned into something else.
 */
export function toJson(value: unknown, what: string): string {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (err) {
    throw new TypeError(`${what} cannot be stored: it is not serialisable as JSON (${(err as Error).message}).`, { cause: err });
  }
  if (text === undefined) throw new TypeError(`${what} cannot be stored: it is not serialisable as JSON.`);
  return text;
}

export function fromJson<T>(text: string): T {
  return JSON.parse(text) as T;
}

/** Validates a ledger or counter argument early with a message that names it. */
export function assertFiniteNumber(value: number, name: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`${name} must be a finite number, got ${String(value)}.`);
}

export function assertTtl(ttlSeconds: number | undefined): void {
  if (ttlSeconds === undefined) return;
  if (typeof ttlSeconds !== 'number' || !Number.isFinite(ttlSeconds) || ttlSeconds <= 0) {
    throw new TypeError(`ttlSeconds must be a positive number of seconds, got ${String(ttlSeconds)}.`);
  }
}
