// Usage dashboards (per service, per collective, over time) and the billing report with its CSV.
import { h, field, formValues, showFieldErrors } from '../dom.js';
import { t, formatNumber, formatBytes, formatMoney } from '../i18n/index.js';
import { api, enc, ApiError } from '../api.js';
import { barChart } from '../charts.js';
import { page, section, table, errorBox, showError, clearError, actionButton, announce } from '../ui.js';

/** @typedef {{ requests?: number, bytesIn?: number, bytesOut?: number, storageByteDays?: number, hostMinutes?: number, participantMinutes?: number }} Units */
/** @typedef {{ subject?: string, collective?: string, service: string, records: number, units: Units }} UsageRow */

/** `YYYY-MM` of a date (UTC). @param {Date} date */
export const monthOf = (date) => date.toISOString().slice(0, 7);

/** @param {string} month `YYYY-MM` @returns {{ from: string, to: string }} days, both included */
export function monthRange(month) {
  const [y, m] = month.split('-').map(Number);
  const from = new Date(Date.UTC(y ?? 1970, (m ?? 1) - 1, 1));
  const to = new Date(Date.UTC(y ?? 1970, m ?? 1, 0));
  return { from: from.toISOString().slice(0, 10), to: to.toISOString().slice(0, 10) };
}

/**
 * Usage rows from the API for one month (default: this one).
 * @param {{ collective?: string, service?: string, month?: string }} filter
 * @returns {Promise<UsageRow[]>}
 */
export async function loadUsage(filter) {
  const { from, to } = monthRange(filter.month ?? monthOf(new Date()));
  const query = new URLSearchParams({ from, to });
  if (filter.collective) query.set('collective', filter.collective);
  if (filter.service) query.set('service', filter.service);
  const body = await api.get(`/usage?${query}`);
  return Array.isArray(body) ? body : (body.rows ?? body.items ?? []);
}

/** Sums rows by a key. @param {UsageRow[]} rows @param {(r: UsageRow) => string} key */
function sumBy(rows, key) {
  /** @type {Map<string, Required<Units> & { records: number }>} */
  const out = new Map();
  for (const row of rows) {
    const k = key(row);
    const acc = out.get(k) ?? { records: 0, requests: 0, bytesIn: 0, bytesOut: 0, storageByteDays: 0, hostMinutes: 0, participantMinutes: 0 };
    acc.records += row.records ?? 0;
    for (const unit of /** @type {const} */ (['requests', 'bytesIn', 'bytesOut', 'storageByteDays', 'hostMinutes', 'participantMinutes'])) acc[unit] += row.units?.[unit] ?? 0;
    out.set(k, acc);
  }
  return out;
}

/** The main chart of a set of rows: requests per service. @param {UsageRow[]} rows @param {string} title */
export function usageChart(rows, title) {
  if (rows.length === 0) return h('p', { class: 'empty' }, t('usage.none'));
  const byService = sumBy(rows, (r) => r.service);
  const entries = [...byService.entries()].sort(([, a], [, b]) => b.requests - a.requests);
  return h(
    'div',
    { class: 'charts' },
    barChart(`${title}: ${t('usage.requests')}`, entries.map(([service, u]) => ({ label: service, value: u.requests, text: formatNumber(u.requests) }))),
    entries.some(([, u]) => u.hostMinutes > 0) ? barChart(`${title}: ${t('usage.hostMinutes')}`, entries.map(([service, u]) => ({ label: service, value: u.hostMinutes, text: formatNumber(u.hostMinutes) }))) : null,
    entries.some(([, u]) => u.storageByteDays > 0) ? barChart(`${title}: ${t('usage.storage')}`, entries.map(([service, u]) => ({ label: service, value: u.storageByteDays, text: `${formatBytes(u.storageByteDays / 30)}` }))) : null,
    usageTable(title, byService),
  );
}

/** @param {string} caption @param {Map<string, Required<Units> & { records: number }>} sums */
function usageTable(caption, sums) {
  return table(
    caption,
    ['', t('usage.requests'), t('usage.bytesOut'), t('usage.storageDays'), t('usage.hostMinutes'), t('usage.participantMinutes')],
    [...sums.entries()].map(([key, u]) => [key, formatNumber(u.requests), formatBytes(u.bytesOut), formatNumber(Math.round(u.storageByteDays / 2 ** 30)), formatNumber(u.hostMinutes), formatNumber(u.participantMinutes)]),
  );
}

/** @param {import('../app.js').PageContext} ctx */
export async function usagePage(ctx) {
  const month = ctx.query.get('month') ?? monthOf(new Date());
  const rows = await loadUsage({ month });
  const byCollective = sumBy(rows.filter((r) => r.collective), (r) => r.collective ?? '');
  const months = Array.from({ length: 6 }, (_, i) => {
    const d = new Date(`${month}-15T00:00:00Z`);
    d.setUTCMonth(d.getUTCMonth() - (5 - i));
    return monthOf(d);
  });
  const overTime = await Promise.all(months.map(async (m) => ({ m, rows: m === month ? rows : await loadUsage({ month: m }).catch(() => []) })));

  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'inline-form' }, field({ label: t('usage.month'), name: 'month', type: 'month', value: month }), h('button', { type: 'submit', class: 'secondary' }, t('common.show'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.navigate(`/admin/usage?month=${enc(formValues(form).month ?? month)}`);
  });

  return page(
    t('usage.title'),
    form,
    section(t('usage.perService', { month }), usageChart(rows, t('usage.perServiceShort'))),
    section(
      t('usage.perCollective'),
      byCollective.size
        ? [barChart(t('usage.perCollective'), [...byCollective.entries()].map(([c, u]) => ({ label: c, value: u.requests, text: formatNumber(u.requests) }))), usageTable(t('usage.perCollective'), byCollective)]
        : h('p', { class: 'empty' }, t('usage.none')),
    ),
    section(
      t('usage.overTime'),
      barChart(t('usage.overTime'), overTime.map(({ m, rows: r }) => {
        const total = r.reduce((sum, row) => sum + (row.units?.requests ?? 0), 0);
        return { label: m, value: total, text: formatNumber(total) };
      })),
    ),
  );
}

/** @param {import('../app.js').PageContext} ctx */
export async function billingPage(ctx) {
  const previous = new Date();
  previous.setUTCDate(1);
  previous.setUTCMonth(previous.getUTCMonth() - 1);
  const period = ctx.query.get('period') ?? monthOf(previous);
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'inline-form' }, field({ label: t('billing.period'), name: 'period', type: 'month', value: period }), h('button', { type: 'submit', class: 'secondary' }, t('common.show'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    ctx.navigate(`/admin/billing?period=${enc(formValues(form).period ?? period)}`);
  });
  /** @type {any} */
  let report;
  try {
    report = await api.get(`/reports/${enc(period)}`);
  } catch (error) {
    if (!(error instanceof ApiError) || error.status >= 500) throw error;
    showError(box, error);
  }
  const download = actionButton(t('billing.csv'), async () => {
    const res = await api.raw(`/reports/${enc(period)}?format=csv`);
    const blob = await res.blob();
    const url = URL.createObjectURL(blob);
    const a = h('a', { href: url, download: `porta-billing-${period}.csv`, class: 'visually-hidden' }, 'csv');
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }, { box, kind: 'primary' });

  const content = report
    ? [
        h('dl', { class: 'facts' }, h('dt', null, t('billing.total')), h('dd', null, formatMoney(report.totalFeeCents ?? 0)), h('dt', null, t('billing.unallocated')), h('dd', null, formatMoney(report.unallocatedCents ?? 0))),
        section(
          t('billing.perService'),
          barChart(t('billing.perService'), (report.services ?? []).map((/** @type {any} */ s) => ({ label: s.service, value: s.cents, text: formatMoney(s.cents) }))),
          table(t('billing.perService'), [t('billing.service'), t('billing.amount'), t('billing.subscribers'), t('usage.requests')], (report.services ?? []).map((/** @type {any} */ s) => [s.service, formatMoney(s.cents), formatNumber(s.subscribers), formatNumber(s.units?.requests ?? 0)])),
        ),
        section(
          t('billing.subscribers'),
          table(
            t('billing.subscribers'),
            [t('billing.holder'), t('billing.fee'), t('billing.split')],
            (report.subscribers ?? []).map((/** @type {any} */ line) => [
              `${line.holder?.kind ?? ''} ${line.holder?.id ?? ''}`.trim(),
              formatMoney(line.feeCents ?? 0),
              (line.split ?? []).map((/** @type {any} */ s) => `${s.service}: ${formatMoney(s.cents)}`).join(', ') || t(`billing.basis.${line.basis}`),
            ]),
          ),
        ),
      ]
    : null;
  return page(t('billing.title'), form, box, report ? download : null, content, await weightsSection(ctx));
}

const WEIGHTS = ['requests', 'bytesInPerMiB', 'bytesOutPerMiB', 'storageGiBDays', 'hostMinutes', 'participantMinutes'];

/** The weights that turn use into shares of a subscriber's fee. @param {import('../app.js').PageContext} ctx */
async function weightsSection(ctx) {
  /** @type {Record<string, number>} */
  const weights = await api.get('/usage/weights');
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      h('p', { class: 'hint' }, t('weights.hint')),
      h('div', { class: 'grid' }, WEIGHTS.map((name) => field({ label: t(`weights.${name}`), name, value: weights[name], inputmode: 'decimal' }))),
      h('button', { type: 'submit', class: 'secondary' }, t('weights.save')),
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const values = formValues(form);
    // Numbers as numbers; anything else goes as typed, and the API names the field.
    const body = Object.fromEntries(WEIGHTS.map((name) => {
      const text = (values[name] ?? '').trim();
      return [name, text !== '' && !Number.isNaN(Number(text)) ? Number(text) : text];
    }));
    try {
      await api.put('/usage/weights', body);
      announce(t('weights.saved'));
      ctx.navigate(location.pathname + location.search);
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(t('weights.title'), form);
}

