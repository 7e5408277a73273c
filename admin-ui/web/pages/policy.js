// Plans, quotas, rate limits and access rules (platform admins): edit the policy as a form, with the
// API's validation errors shown beside each field; every version in a history with its diff; revert.
import { h, field, formValues, showFieldErrors, replace } from '../dom.js';
import { t, formatTime } from '../i18n/index.js';
import { api, enc, ApiError } from '../api.js';
import { page, section, table, link, errorBox, showError, clearError, actionButton, announce } from '../ui.js';

const SIZE_FIELDS = ['storage', 'recordingStorage'];
const COUNT_FIELDS = ['meetingMinutes', 'hostedMinutesPerDay'];

/** Form text → policy value: empty = null (unlimited), digits = number, anything else as typed (the API says if it is wrong). @param {string} text */
function toValue(text) {
  const v = text.trim();
  if (v === '') return null;
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
  return v;
}

/** @param {unknown} v */
const fromValue = (v) => (v === null || v === undefined ? '' : String(v));

/** @param {unknown} value */
const show = (value) => (value === undefined ? '—' : JSON.stringify(value));

/** @param {import('../app.js').PageContext} ctx */
export async function policyPage(ctx) {
  /** @type {{ version: number, document: any }} */
  const { version, document: doc } = await api.get('/policy');
  const box = errorBox();
  const saved = h('div', { role: 'status', class: 'success' });

  const planFields = Object.entries(doc.plans ?? {}).map(([id, plan]) =>
    h(
      'fieldset',
      { class: 'plan' },
      h('legend', null, `${/** @type {any} */ (plan).name ?? id} (${id})`),
      h(
        'div',
        { class: 'grid' },
        field({ label: t('policy.planName'), name: `plans.${id}.name`, value: /** @type {any} */ (plan).name }),
        SIZE_FIELDS.map((k) => field({ label: t(`policy.${k}`), name: `plans.${id}.${k}`, value: fromValue(/** @type {any} */ (plan)[k] ?? 0), hint: t('policy.sizeHint') })),
        COUNT_FIELDS.map((k) => field({ label: t(`policy.${k}`), name: `plans.${id}.${k}`, value: fromValue(/** @type {any} */ (plan)[k] ?? 0), inputmode: 'numeric', hint: t('policy.countHint') })),
        field({ label: t('policy.priceCents'), name: `plans.${id}.price.cents`, value: fromValue(/** @type {any} */ (plan).price?.cents), inputmode: 'numeric', hint: t('policy.priceHint') }),
      ),
    ),
  );

  const limits = doc.rateLimits ?? { services: {} };
  const limitRows = [['default', limits.default], ...Object.entries(limits.services ?? {})].map(([service, limit]) =>
    h(
      'div',
      { class: 'grid' },
      field({ label: t('policy.points', { service: String(service) }), name: service === 'default' ? 'rateLimits.default.points' : `rateLimits.services.${service}.points`, value: fromValue(/** @type {any} */ (limit)?.points), inputmode: 'numeric' }),
      field({ label: t('policy.duration', { service: String(service) }), name: service === 'default' ? 'rateLimits.default.duration' : `rateLimits.services.${service}.duration`, value: fromValue(/** @type {any} */ (limit)?.duration), inputmode: 'numeric' }),
    ),
  );

  const rulesField = field({ label: t('policy.rules'), name: 'rules', value: JSON.stringify(doc.rules ?? [], null, 2), multiline: true, hint: t('policy.rulesHint') });

  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      section(t('policy.plans'), planFields),
      section(t('policy.rateLimits'), h('p', { class: 'hint' }, t('policy.rateLimitsHint')), limitRows),
      section(t('policy.rulesTitle'), rulesField),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('policy.save')), link('/admin/policy/history', t('policy.history'))),
      saved,
    )
  );

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    saved.textContent = '';
    const next = structuredClone(doc);
    /** @type {Record<string, string>} */
    const local = {};
    for (const input of /** @type {NodeListOf<HTMLInputElement | HTMLTextAreaElement>} */ (form.querySelectorAll('[data-field]'))) {
      const path = input.dataset.field ?? '';
      // Only what the admin changed, so that the history shows exactly that edit.
      if (input.value === input.dataset.initial) continue;
      const parts = path.split('.');
      if (parts[0] === 'plans') {
        const plan = next.plans[parts[1] ?? ''];
        const key = parts[2] ?? '';
        if (key === 'name') plan.name = input.value;
        else if (key === 'price') {
          const cents = toValue(input.value);
          plan.price = cents === null ? null : { period: 'month', ...(plan.price ?? {}), cents };
        } else plan[key] = toValue(input.value);
      } else if (parts[0] === 'rateLimits') {
        const value = toValue(input.value);
        const holder = parts[1] === 'default' ? (next.rateLimits.default ??= {}) : (next.rateLimits.services[parts[2] ?? ''] ??= {});
        holder[/** @type {string} */ (parts.at(-1))] = value;
      } else if (path === 'rules') {
        try {
          next.rules = JSON.parse(input.value);
        } catch (error) {
          local.rules = t('policy.rulesNotJson', { reason: error instanceof Error ? error.message : String(error) });
        }
      }
    }
    if (next.rateLimits?.default && next.rateLimits.default.points === null && next.rateLimits.default.duration === null) delete next.rateLimits.default;
    if (Object.keys(local).length) {
      showFieldErrors(form, local);
      return;
    }
    try {
      const summary = await api.put('/policy', next, { 'If-Match': `"${version}"` });
      showFieldErrors(form, {});
      announce(t('policy.saved', { version: summary.version }));
      ctx.navigate('/admin/policy/history');
    } catch (error) {
      if (error instanceof ApiError && error.status === 409) {
        // Someone saved a newer version meanwhile: nothing was changed; start again from theirs.
        showError(box, error);
        box.append(h('button', { type: 'button', class: 'secondary', onclick: () => ctx.navigate('/admin/policy') }, t('policy.reload')));
      } else showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });

  return page(
    t('policy.title'),
    h('p', { class: 'lead' }, t('policy.lead', { version }), ' ', link('/admin/policy/json', t('policy.editJson'))),
    explainSection(),
    form,
  );
}

/** "Why may (or may not) this account use this service?", answered by the policy in force. */
function explainSection() {
  const box = errorBox();
  const answer = h('div', { 'aria-live': 'polite' });
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'inline-form', novalidate: true },
      box,
      field({ label: t('explain.account'), name: 'account', required: true, autocomplete: 'off' }),
      field({ label: t('explain.service'), name: 'service', required: true, autocomplete: 'off' }),
      field({ label: t('explain.path'), name: 'path', placeholder: '/' }),
      h('button', { type: 'submit', class: 'secondary' }, t('explain.button')),
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    replace(answer);
    const values = formValues(form);
    const query = new URLSearchParams({ account: values.account?.trim() ?? '', service: values.service?.trim() ?? '' });
    if (values.path?.trim()) query.set('path', values.path.trim());
    try {
      const result = await api.get(`/policy/explain?${query}`);
      showFieldErrors(form, {});
      const allowed = result.decision?.effect === 'allow';
      replace(answer, h('p', null, h('span', { class: `badge ${allowed ? 'badge-ok' : 'badge-warn'}` }, allowed ? t('explain.allow') : t('explain.deny'))), h('pre', { class: 'mail-body' }, result.text ?? ''));
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(t('explain.title'), form, answer);
}

/** The whole policy as JSON, for what the form does not cover (new plans, per-plan rate limits). @param {import('../app.js').PageContext} ctx */
export async function policyJsonPage(ctx) {
  const { version, document: doc } = await api.get('/policy');
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      field({ label: t('policy.json'), name: 'document', value: JSON.stringify(doc, null, 2), multiline: true, hint: t('policy.jsonHint') }),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('policy.save')), link('/admin/policy', t('policy.backToForm'))),
    )
  );
  form.querySelector('textarea')?.setAttribute('rows', '32');
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    let next;
    try {
      next = JSON.parse(formValues(form).document ?? '');
    } catch (error) {
      showFieldErrors(form, { document: t('policy.rulesNotJson', { reason: error instanceof Error ? error.message : String(error) }) });
      return;
    }
    try {
      const summary = await api.put('/policy', next, { 'If-Match': `"${version}"` });
      announce(t('policy.saved', { version: summary.version }));
      ctx.navigate('/admin/policy/history');
    } catch (error) {
      // Field paths (plans.free.storage) are shown as a list: the JSON has no input per field.
      showError(box, error, error instanceof ApiError ? error.fields : {});
    }
  });
  return page(t('policy.jsonTitle'), h('p', { class: 'lead' }, t('policy.lead', { version })), form);
}

/** @param {import('../app.js').PageContext} ctx */
export async function historyPage(ctx) {
  const { items, current } = await api.get('/policy/history');
  const box = errorBox();
  const versions = [...items].sort((a, b) => b.version - a.version);
  return page(
    t('history.title'),
    h('p', { class: 'lead' }, t('history.lead', { version: current }), ' ', link('/admin/policy', t('history.edit'))),
    box,
    versions.map((v) =>
      h(
        'article',
        { class: 'card version', 'aria-labelledby': `v${v.version}` },
        h('h2', { id: `v${v.version}` }, t('history.version', { version: v.version }), v.version === current ? h('span', { class: 'badge badge-ok' }, t('history.current')) : null),
        h('p', { class: 'muted' }, t(`history.action.${v.action}`, { version: v.revertedTo ?? '' }), ' · ', formatTime(v.when), ' · ', t('history.by', { who: v.who })),
        v.changes?.length
          ? table(
              t('history.changes', { version: v.version }),
              [t('history.path'), t('history.before'), t('history.after')],
              v.changes.map((/** @type {{ path: string, before: unknown, after: unknown }} */ c) => [h('code', null, c.path), h('del', null, show(c.before)), h('ins', null, show(c.after))]),
            )
          : h('p', { class: 'empty' }, t('history.noChanges')),
        v.version !== current
          ? actionButton(t('history.revert', { version: v.version }), async () => {
              const summary = await api.post(`/policy/revert/${enc(String(v.version))}`);
              announce(t('history.reverted', { version: v.version, now: summary.version }));
              ctx.navigate('/admin/policy/history');
            }, { box, confirmText: t('history.confirmRevert', { version: v.version }) })
          : null,
      ),
    ),
  );
}
