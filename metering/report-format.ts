/**
 * The billing report as JSON or CSV. The CSV has one row per subscriber and service (`split`) and one
 * per service total (`service-total`), so a spreadsheet can sum either. Cells that a spreadsheet would
 * read as a formula are prefixed with `'` (ids come from people).
 */
import { UNIT_KINDS, type UnitTotals } from './types.ts';
import type { BillingReport } from './billing-report.ts';

export type ReportFormat = 'json' | 'csv';

const HEADER = ['period', 'row', 'holder_kind', 'holder_id', 'service', 'records', ...UNIT_KINDS, 'weighted_use', 'fee_cents', 'share_cents'];

function cell(value: string | number | undefined): string {
  if (value === undefined) return '';
  let text = String(value);
  if (typeof value === 'string' && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const units = (u: UnitTotals | undefined) => UNIT_KINDS.map((k) => (u === undefined ? '' : u[k]));

export function reportToCsv(report: BillingReport): string {
  const lines: Array<Array<string | number | undefined>> = [HEADER];
  for (const s of report.subscribers) {
    const usage = new Map(s.usage.map((u) => [u.service, u]));
    const services = new Set([...s.usage.map((u) => u.service), ...s.split.map((p) => p.service)]);
    const share = new Map(s.split.map((p) => [p.service, p.cents]));
    for (const service of [...services].sort()) {
      const u = usage.get(service);
      lines.push([report.period, 'split', s.holder.kind, s.holder.id, service, u?.records ?? 0, ...units(u?.units), u?.weightedUse ?? 0, s.feeCents, share.get(service) ?? 0]);
    }
    if (services.size === 0) lines.push([report.period, 'split', s.holder.kind, s.holder.id, '', 0, ...units(undefined), 0, s.feeCents, 0]);
  }
  for (const t of report.services) lines.push([report.period, 'service-total', '', '', t.service, t.records, ...units(t.units), '', '', t.cents]);
  return `${lines.map((line) => line.map(cell).join(',')).join('\n')}\n`;
}

export function formatReport(report: BillingReport, format: ReportFormat): string {
  return format === 'csv' ? reportToCsv(report) : `${JSON.stringify(report, null, 2)}\n`;
}
