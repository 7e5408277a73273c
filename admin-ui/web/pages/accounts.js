// Accounts (platform admins): search, plans through subscriptions, suspend or reactivate, send a
// password reset, delete.
import { h, field, formValues, showFieldErrors } from '../dom.js';
import { t } from '../i18n/index.js';
import { api, enc, offers, ApiError } from '../api.js';
import { page, section, table, link, errorBox, showError, clearError, actionButton, announce } from '../ui.js';

/** @typedef {{ id: string, username: string, email: string, name: string, status: string, platformAdmin: boolean }} Account */
/** @typedef {{ id: string, holder: { account?: string, collective?: string }, plan: string, from: number, to?: number, extraBlocks?: number, coversMembers?: boolean }} Subscription */

/** @param {import('../app.js').PageContext} ctx */
export async function accountsPage(ctx) {
  const query = ctx.query.get('q') ?? '';
  const cursor = ctx.query.get('cursor') ?? '';
  const reload = () => ctx.navigate(location.pathname + location.search);
  const [body, subsBody, policy] = await Promise.all([
    api.get(`/accounts?limit=50${query ? `&query=${enc(query)}` : ''}${cursor ? `&cursor=${enc(cursor)}` : ''}`),
    api.get('/subscriptions').catch(() => ({ items: [] })),
    api.get('/policy').catch(() => undefined),
  ]);
  /** @type {Account[]} */
  const accounts = Array.isArray(body) ? body : (body.items ?? []);
  /** @type {Subscription[]} */
  const subscriptions = subsBody.items ?? [];
  const now = Date.now();
  const plans = Object.entries(policy?.document?.plans ?? {}).filter(([, p]) => (/** @type {any} */ (p).holders ?? ['account']).includes('account'));
  const box = errorBox();
  const canReset = await offers('POST', '/accounts/{id}/password-reset');
  const canResetFactors = await offers('DELETE', '/accounts/{id}/factors');

  const search = /** @type {HTMLFormElement} */ (
    h('form', { class: 'inline-form', role: 'search' }, field({ label: t('accounts.search'), name: 'q', type: 'search', value: query, hint: t('accounts.searchHint') }), h('button', { type: 'submit', class: 'primary' }, t('accounts.searchButton')))
  );
  search.addEventListener('submit', (event) => {
    event.preventDefault();
    const q = formValues(search).q?.trim() ?? '';
    ctx.navigate(`/admin/accounts${q ? `?q=${enc(q)}` : ''}`);
  });

  const rows = accounts.map((a) => {
    const who = a.name || a.username;
    const mine = subscriptions.filter((s) => s.holder.account === a.id && s.from <= now && (s.to === undefined || now < s.to));
    const planSelect = h('select', { 'aria-label': t('accounts.planFor', { name: who }) }, h('option', { value: '' }, t('accounts.choosePlan')), plans.map(([id, p]) => h('option', { value: id }, /** @type {any} */ (p).name ?? id)));
    const planCell = h(
      'div',
      { class: 'plan-cell' },
      mine.length
        ? h('ul', { class: 'services' }, mine.map((s) => h('li', null, s.plan, ' ', actionButton(t('accounts.endPlan'), async () => {
            const { id: _id, ...rest } = s;
            await api.put(`/subscriptions/${enc(s.id)}`, { ...rest, to: Date.now() });
            announce(t('accounts.planEnded', { plan: s.plan, name: who }));
            reload();
          }, { box, ariaLabel: t('accounts.endPlanOf', { plan: s.plan, name: who }) }))))
        : h('span', { class: 'muted' }, t('accounts.defaultPlan', { plan: policy?.document?.defaultPlan ?? 'free' })),
      plans.length
        ? h('div', { class: 'inline' }, planSelect, actionButton(t('accounts.addPlan'), async () => {
            const plan = /** @type {HTMLSelectElement} */ (planSelect).value;
            if (!plan) return;
            await api.post('/subscriptions', { holder: { account: a.id }, plan, from: Date.now() });
            announce(t('accounts.planAdded', { plan, name: who }));
            reload();
          }, { box, ariaLabel: t('accounts.addPlanTo', { name: who }) }))
        : null,
    );
    const suspended = a.status === 'suspended';
    return [
      who,
      a.username,
      a.email,
      h('span', null, h('span', { class: `badge ${suspended ? 'badge-warn' : 'badge-ok'}` }, suspended ? t('accounts.suspended') : t('accounts.active')), a.platformAdmin ? h('span', { class: 'badge badge-ok' }, t('accounts.admin')) : null),
      planCell,
      h(
        'div',
        { class: 'actions' },
        actionButton(suspended ? t('accounts.reactivate') : t('accounts.suspend'), async () => {
          await api.patch(`/accounts/${enc(a.id)}`, { status: suspended ? 'active' : 'suspended' });
          announce(suspended ? t('accounts.reactivated', { name: who }) : t('accounts.suspendedNow', { name: who }));
          reload();
        }, { box, ariaLabel: `${suspended ? t('accounts.reactivate') : t('accounts.suspend')}: ${who}` }),
        canReset
          ? actionButton(t('accounts.reset'), async () => {
              await api.post(`/accounts/${enc(a.id)}/password-reset`, {});
              announce(t('accounts.resetSent', { email: a.email }));
            }, { box, ariaLabel: `${t('accounts.reset')}: ${who}` })
          : null,
        a.id === ctx.me.accountId
          ? null
          : actionButton(a.platformAdmin ? t('accounts.unmakeAdmin') : t('accounts.makeAdmin'), async () => {
              await api.patch(`/accounts/${enc(a.id)}`, { platformAdmin: !a.platformAdmin });
              announce(a.platformAdmin ? t('accounts.adminRemoved', { name: who }) : t('accounts.adminGiven', { name: who }));
              reload();
            }, { box, ariaLabel: `${a.platformAdmin ? t('accounts.unmakeAdmin') : t('accounts.makeAdmin')}: ${who}`, confirmText: a.platformAdmin ? undefined : t('accounts.confirmAdmin', { name: who }) }),
        canResetFactors
          ? actionButton(t('accounts.resetFactors'), async () => {
              await api.del(`/accounts/${enc(a.id)}/factors`);
              announce(t('accounts.factorsReset', { name: who }));
            }, { box, ariaLabel: `${t('accounts.resetFactors')}: ${who}`, confirmText: t('accounts.confirmResetFactors', { name: who }) })
          : null,
        actionButton(t('accounts.delete'), async () => {
          await api.del(`/accounts/${enc(a.id)}`);
          announce(t('accounts.deleted', { name: who }));
          reload();
        }, { box, kind: 'danger', ariaLabel: `${t('accounts.delete')}: ${who}`, confirmText: t('accounts.confirmDelete', { name: who }) }),
      ),
    ];
  });

  return page(
    t('accounts.title'),
    search,
    createSection(ctx),
    section(
      t('accounts.results', { count: body.total ?? accounts.length }),
      box,
      table(t('accounts.title'), [t('accounts.name'), t('accounts.username'), t('accounts.email'), t('accounts.status'), t('accounts.plans'), t('common.actions')], rows, t('accounts.none')),
      body.next ? link(`/admin/accounts?${new URLSearchParams({ ...(query ? { q: query } : {}), cursor: body.next })}`, t('accounts.next')) : null,
    ),
  );
}

/** Platform admins create an account; the person sets a password through the reset mail or is given one. @param {import('../app.js').PageContext} ctx */
function createSection(ctx) {
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      h(
        'div',
        { class: 'grid' },
        field({ label: t('accounts.username'), name: 'username', required: true, autocomplete: 'off' }),
        field({ label: t('accounts.email'), name: 'email', type: 'email', required: true, autocomplete: 'off' }),
        field({ label: t('accounts.name'), name: 'name', required: true, autocomplete: 'off' }),
        field({ label: t('accounts.password'), name: 'password', type: 'password', autocomplete: 'new-password', hint: t('accounts.passwordHint') }),
      ),
      h('button', { type: 'submit', class: 'primary' }, t('accounts.create')),
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const v = formValues(form);
    try {
      const account = await api.post('/accounts', { username: v.username?.trim(), email: v.email?.trim(), name: v.name?.trim(), ...(v.password ? { password: v.password } : {}) });
      announce(t('accounts.created', { name: account.username }));
      ctx.navigate(`/admin/accounts?q=${enc(account.username)}`);
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return h('details', { class: 'card' }, h('summary', null, t('accounts.new')), form);
}
