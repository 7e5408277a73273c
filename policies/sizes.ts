/**
 * Sizes in binary units, the way Nextcloud reads them (`OC_Helper::computerFileSize`: 1 GB =
 * 1073741824 bytes). Policy files may write `"5 GB"` instead of a byte count.
 */

const UNITS = ['B', 'KB', 'MB', 'GB', 'TB', 'PB'] as const;
const MULTIPLIER: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** `"5 GB"`, `"512mb"`, `"1.5 GB"`, `"1024"` → bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([bkmgtp])?b?\s*$/i.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? 'b').toLowerCase();
  const bytes = Number(match[1]) * MULTIPLIER[unit];
  return Number.isSafeInteger(Math.round(bytes)) ? Math.round(bytes) : undefined;
}

/** Bytes → the largest binary unit that divides them exactly: 5368709120 → "5 GB", 536870912 → "512 MB". */
export function formatSize(bytes: number): string {
  if (!Number.isSafeInteger(bytes) || bytes < 0) throw new RangeError(`not a size in bytes: ${bytes}`);
  let unit = 0;
  let value = bytes;
  while (unit < UNITS.length - 1 && value >= 1024 && value % 1024 === 0) {
    value /= 1024;
    unit += 1;
  }
  return `${value} ${UNITS[unit]}`;
}

/**
 * The `quota` claim for Nextcloud's user_oidc app. It must be a JSON string (a number is silently
 * ignored) that Nextcloud can parse: `"none"` for unlimited, else binary units such as `"15 GB"`.
 */
export function quotaClaim(bytes: number | null): string {
  return bytes === null ? 'none' : formatSize(bytes);
}
