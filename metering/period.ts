/** Days and billing periods, always in UTC so every process draws the same boundaries. */
import { badRequest } from '../kernel/errors.ts';

export const DAY_MS = 86_400_000;

const DAY = /^(\d{4})-(\d{2})-(\d{2})$/;
const MONTH = /^(\d{4})-(\d{2})$/;

/** Milliseconds at the start of `YYYY-MM-DD` (UTC); throws a 400 naming `field` when it is not a real date. */
export function parseDay(day: string, field = 'day'): number {
  const m = DAY.exec(day);
  const ms = m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])) : Number.NaN;
  if (!m || Number.isNaN(ms) || formatDay(ms) !== day) throw badRequest(`${field} must be a date written YYYY-MM-DD.`, { [field]: 'expected YYYY-MM-DD' });
  return ms;
}

export function formatDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export function startOfDay(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

export interface BillingPeriod {
  /** `YYYY-MM` */
  id: string;
  from: number;
  /** Exclusive. */
  to: number;
  days: number;
}

/** A month `YYYY-MM`; throws a 400 naming `field` otherwise. */
export function parsePeriod(period: string, field = 'period'): BillingPeriod {
  const m = MONTH.exec(period);
  const month = m ? Number(m[2]) : 0;
  if (!m || month < 1 || month > 12) throw badRequest(`${field} must be a month written YYYY-MM.`, { [field]: 'expected YYYY-MM' });
  const year = Number(m[1]);
  const from = Date.UTC(year, month - 1, 1);
  const to = Date.UTC(year, month, 1);
  return { id: period, from, to, days: Math.round((to - from) / DAY_MS) };
}

export function periodOf(ms: number): string {
  return new Date(ms).toISOString().slice(0, 7);
}

/** The days of `[from, to)` as `YYYY-MM-DD`. */
export function daysBetween(from: number, to: number): string[] {
  const days: string[] = [];
  for (let t = startOfDay(from); t < to; t += DAY_MS) days.push(formatDay(t));
  return days;
}

export function daysInYear(year: number): number {
  return (Date.UTC(year + 1, 0, 1) - Date.UTC(year, 0, 1)) / DAY_MS;
}
