/**
 * A small JSON diff for the policy history: the paths that changed with their value before and
 * after. Enough for an admin to read "plans.oficina-basic.storage: 1 GB → 2 GB".
 */

export interface Change {
  /** Dotted path, array items by index: `rules.2.effect`. Empty for the whole document. */
  path: string;
  /** Absent when the value was added. */
  before?: unknown;
  /** Absent when the value was removed. */
  after?: unknown;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function join(base: string, key: string | number): string {
  return base === '' ? String(key) : `${base}.${key}`;
}

function walk(before: unknown, after: unknown, path: string, out: Change[]): void {
  if (Object.is(before, after)) return;
  if (isObject(before) && isObject(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const key of keys) {
      if (!(key in after)) out.push({ path: join(path, key), before: before[key] });
      else if (!(key in before)) out.push({ path: join(path, key), after: after[key] });
      else walk(before[key], after[key], join(path, key), out);
    }
    return;
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const length = Math.max(before.length, after.length);
    for (let i = 0; i < length; i += 1) {
      if (i >= after.length) out.push({ path: join(path, i), before: before[i] });
      else if (i >= before.length) out.push({ path: join(path, i), after: after[i] });
      else walk(before[i], after[i], join(path, i), out);
    }
    return;
  }
  const change: Change = { path };
  if (before !== undefined) change.before = before;
  if (after !== undefined) change.after = after;
  out.push(change);
}

/** The changes that turn `before` into `after` (plain JSON values). */
export function diff(before: unknown, after: unknown): Change[] {
  const out: Change[] = [];
  walk(before, after, '', out);
  return out;
}
