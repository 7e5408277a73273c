// Collectives: the list (all for platform admins, their own for managers), creating one, and one
// collective's page: contracted services, members and their grants, managers, invitations, usage.
import { h, field, formValues, showFieldErrors, replace } from '../dom.js';
import { t, formatTime } from '../i18n/index.js';
import { api, enc, ApiError, offers } from '../api.js';
import { page, section, table, link, errorBox, showError, clearError, actionButton, announce } from '../ui.js';
import { usageChart, loadUsage } from './usage.js';

/** @typedef {{ id: string, name: string, services: string[] }} Collective */
/** @typedef {{ id: string, name?: string, dedicated?: boolean }} Service */

/** The services collectives can contract, from the API; empty when it has no such list. @returns {Promise<Service[]>} */
export async function loadServices() {
  if (!(await offers('GET', '/services'))) return [];
  try {
    const body = await api.get('/services');
    const items = Array.isArray(body) ? body : (body.items ?? []);
    return items.map((/** @type {any} */ s) => (typeof s === 'string' ? { id: s } : s));
  } catch {
    return [];
  }
}

/** @param {string} id @param {Service[]} services */
const serviceName = (id, services) => services.find((s) => s.id === id)?.name ?? id;

/** @param {any} body @returns {any[]} */
const itemsOf = (body) => (Array.isArray(body) ? body : (body?.items ?? []));

/** @param {import('../app.js').PageContext} ctx */
export async function collectivesPage(ctx) {
  const { me } = ctx;
  /** @type {Collective[]} */
  let collectives;
  collectives = itemsOf(await api.get('/collectives?limit=500'));
  // A manager's list: the collectives they run (the API also lists those they only belong to).
  if (!me.platformAdmin) collectives = collectives.filter((c) => me.managerOf.includes(c.id));
  const services = me.platformAdmin ? await loadServices() : [];

  const list = table(
    t('collectives.list'),
    [t('collectives.name'), t('collectives.id'), t('collectives.services')],
    collectives.map((c) => [link(`/admin/collectives/${enc(c.id)}`, c.name || c.id), c.id, (c.services ?? []).map((s) => serviceName(s, services)).join(', ') || '—']),
    t('collectives.empty'),
  );

  return page(
    me.platformAdmin ? t('collectives.title') : t('collectives.mine'),
    section(t('collectives.list'), list),
    me.platformAdmin ? createForm(ctx, services) : null,
  );
}

/** @param {import('../app.js').PageContext} ctx @param {Service[]} services */
function createForm(ctx, services) {
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      field({ label: t('collectives.name'), name: 'name', required: true }),
      field({ label: t('collectives.id'), name: 'id', required: true, hint: t('collectives.idHint') }),
      services.length
        ? h('fieldset', null, h('legend', null, t('collectives.services')), services.map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: `service:${s.id}`, 'data-field': 'services' }), ' ', s.name ?? s.id)), h('p', { class: 'field-error', 'data-error-for': 'services' }))
        : field({ label: t('collectives.services'), name: 'services', hint: t('collectives.servicesHint') }),
      h('button', { type: 'submit', class: 'primary' }, t('collectives.create')),
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const values = formValues(form);
    const chosen = services.length
      ? services.filter((s) => values[`service:${s.id}`] === 'on').map((s) => s.id)
      : (values.services ?? '').split(',').map((s) => s.trim()).filter(Boolean);
    try {
      const created = await api.post('/collectives', { id: values.id?.trim(), name: values.name?.trim(), services: chosen });
      announce(t('collectives.created', { name: created?.name ?? values.name ?? '' }));
      ctx.navigate(`/admin/collectives/${enc(created?.id ?? values.id ?? '')}`);
    } catch (error) {
      const rest = error instanceof ApiError ? showFieldErrors(form, error.fields) : {};
      showError(box, error, rest);
    }
  });
  return section(t('collectives.new'), form);
}

/** @param {import('../app.js').PageContext} ctx */
export async function collectivePage(ctx) {
  const { me, params } = ctx;
  const id = params.id ?? '';
  // The API decides who may see a collective; a refusal (403) shows nothing of it.
  /** @type {Collective} */
  const collective = await api.get(`/collectives/${enc(id)}`);
  const [membersBody, services] = await Promise.all([api.get(`/collectives/${enc(id)}/members?limit=500`), loadServices()]);
  const members = itemsOf(membersBody);
  const reload = () => ctx.navigate(location.pathname);

  return page(
    collective.name || collective.id,
    h('p', { class: 'lead' }, t('collective.lead', { id: collective.id })),
    servicesSection(collective, services, me.platformAdmin, reload),
    me.platformAdmin ? await plansSection(collective, reload) : null,
    membersSection(collective, members, services, me, reload),
    await invitationsSection(collective, reload),
    me.platformAdmin ? addManagerSection(collective, reload) : null,
    await usageSection(collective),
    await auditSection(collective, members),
    me.platformAdmin ? deleteSection(collective, ctx) : null,
  );
}

/** @param {Collective} c @param {Service[]} services @param {boolean} editable @param {() => void} reload */
function servicesSection(c, services, editable, reload) {
  const current = c.services ?? [];
  if (!editable) {
    return section(t('collective.services'), current.length ? h('ul', null, current.map((s) => h('li', null, serviceName(s, services)))) : h('p', { class: 'empty' }, t('collective.noServices')));
  }
  /** @type {Service[]} */
  const known = services.length ? services : current.map((s) => ({ id: s }));
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      h(
        'fieldset',
        null,
        h('legend', null, t('collective.contracted')),
        known.map((s) => h('label', { class: 'check' }, h('input', { type: 'checkbox', name: `service:${s.id}`, checked: current.includes(s.id), 'data-field': 'services' }), ' ', s.name ?? s.id)),
        services.length ? null : field({ label: t('collective.addService'), name: 'extra', hint: t('collectives.servicesHint') }),
        h('p', { class: 'field-error', 'data-error-for': 'services' }),
      ),
      h('button', { type: 'submit', class: 'primary' }, t('collective.saveServices')),
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const values = formValues(form);
    const chosen = known.filter((s) => values[`service:${s.id}`] === 'on').map((s) => s.id);
    for (const extra of (values.extra ?? '').split(',').map((s) => s.trim()).filter(Boolean)) if (!chosen.includes(extra)) chosen.push(extra);
    try {
      await api.patch(`/collectives/${enc(c.id)}`, { services: chosen });
      announce(t('collective.servicesSaved'));
      reload();
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(t('collective.services'), form);
}

/**
 * @param {Collective} c @param {any[]} members @param {Service[]} services
 * @param {import('../session.js').Me} me @param {() => void} reload
 */
function membersSection(c, members, services, me, reload) {
  const box = errorBox();
  const rows = members.map((m) => {
    const accountId = m.id ?? m.accountId;
    const who = m.name || m.username;
    const grants = h(
      'fieldset',
      { class: 'grants' },
      h('legend', { class: 'visually-hidden' }, t('collective.grantsOf', { name: who })),
      (c.services ?? []).length === 0
        ? h('span', { class: 'empty' }, '—')
        : (c.services ?? []).map((s) =>
            h(
              'label',
              { class: 'check' },
              h('input', {
                type: 'checkbox',
                checked: (m.grants ?? []).includes(s),
                'aria-label': t('collective.grantTo', { service: serviceName(s, services), name: who }),
                onchange: async (/** @type {Event} */ e) => {
                  const input = /** @type {HTMLInputElement} */ (e.target);
                  const next = new Set(m.grants ?? []);
                  if (input.checked) next.add(s);
                  else next.delete(s);
                  clearError(box);
                  try {
                    await api.put(`/collectives/${enc(c.id)}/members/${enc(accountId)}/grants`, { services: [...next] });
                    m.grants = [...next];
                    announce(input.checked ? t('collective.granted', { service: serviceName(s, services), name: who }) : t('collective.revoked', { service: serviceName(s, services), name: who }));
                  } catch (error) {
                    input.checked = !input.checked;
                    showError(box, error);
                  }
                },
              }),
              ' ',
              serviceName(s, services),
            ),
          ),
    );
    const manager = m.manager
      ? actionButton(t('collective.unmakeManager'), async () => { await api.put(`/collectives/${enc(c.id)}/members/${enc(accountId)}/manager`, { manager: false }); reload(); }, { box, ariaLabel: t('collective.unmakeManagerOf', { name: who }) })
      : actionButton(t('collective.makeManager'), async () => { await api.put(`/collectives/${enc(c.id)}/members/${enc(accountId)}/manager`, { manager: true }); reload(); }, { box, ariaLabel: t('collective.makeManagerOf', { name: who }) });
    const remove = accountId === me.accountId
      ? null
      : actionButton(t('collective.remove'), async () => { await api.del(`/collectives/${enc(c.id)}/members/${enc(accountId)}`); reload(); }, { box, kind: 'danger', ariaLabel: t('collective.removeOf', { name: who }), confirmText: t('collective.confirmRemove', { name: who }) });
    return [who, m.username, m.manager ? t('collective.manager') : t('collective.member'), grants, h('div', { class: 'actions' }, manager, remove)];
  });

  const addBox = errorBox();
  const addForm = /** @type {HTMLFormElement} */ (
    h('form', { class: 'inline-form', novalidate: true }, addBox, field({ label: t('collective.addMemberLabel'), name: 'login', required: true, autocomplete: 'off' }), h('button', { type: 'submit', class: 'secondary' }, t('collective.addMember')))
  );
  addForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(addBox);
    try {
      await api.post(`/collectives/${enc(c.id)}/members`, { login: formValues(addForm).login?.trim() });
      reload();
    } catch (error) {
      showError(addBox, error, error instanceof ApiError ? showFieldErrors(addForm, error.fields) : {});
    }
  });

  return section(
    t('collective.members'),
    box,
    table(t('collective.members'), [t('collective.memberName'), t('collective.username'), t('collective.role'), t('collective.grants'), t('common.actions')], rows, t('collective.noMembers')),
    addForm,
  );
}

/** @param {Collective} c @param {() => void} reload */
async function invitationsSection(c, reload) {
  const box = errorBox();
  let invitations = [];
  try {
    invitations = itemsOf(await api.get(`/collectives/${enc(c.id)}/invitations`));
  } catch (error) {
    showError(box, error);
  }
  const form = /** @type {HTMLFormElement} */ (
    h('form', { class: 'inline-form', novalidate: true }, field({ label: t('collective.inviteEmail'), name: 'email', type: 'email', required: true, autocomplete: 'off' }), h('button', { type: 'submit', class: 'primary' }, t('collective.invite')))
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const email = formValues(form).email?.trim() ?? '';
    try {
      await api.post(`/collectives/${enc(c.id)}/invitations`, { email });
      announce(t('collective.invited', { email }));
      reload();
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  const rows = invitations.map((i) => [
    i.email,
    formatTime(i.createdAt),
    formatTime(i.expiresAt),
    actionButton(t('collective.withdraw'), async () => { await api.del(`/collectives/${enc(c.id)}/invitations/${enc(i.id)}`); reload(); }, { box, ariaLabel: t('collective.withdrawFor', { email: i.email }) }),
  ]);
  return section(
    t('collective.invitations'),
    box,
    table(t('collective.invitations'), [t('collective.email'), t('collective.sent'), t('collective.expires'), t('common.actions')], rows, t('collective.noInvitations')),
    form,
  );
}

/** Platform admins appoint a manager by username or email (added as a member if needed). @param {Collective} c @param {() => void} reload */
function addManagerSection(c, reload) {
  const box = errorBox();
  const form = /** @type {HTMLFormElement} */ (
    h('form', { class: 'inline-form', novalidate: true }, box, field({ label: t('collective.managerAccount'), name: 'login', required: true, autocomplete: 'off' }), h('button', { type: 'submit', class: 'primary' }, t('collective.appoint')))
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const login = formValues(form).login?.trim() ?? '';
    try {
      // Managers are members with the manager flag: add (a no-op when already one), then appoint.
      const added = await api.post(`/collectives/${enc(c.id)}/members`, { login });
      await api.put(`/collectives/${enc(c.id)}/members/${enc(added.accountId)}/manager`, { manager: true });
      announce(t('collective.appointed', { name: login }));
      reload();
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(t('collective.appointTitle'), form);
}

/** @param {Collective} c */
async function usageSection(c) {
  const holder = h('div');
  try {
    const usage = await loadUsage({ collective: c.id });
    replace(holder, usageChart(usage, t('collective.usageChart', { name: c.name || c.id })));
  } catch (error) {
    replace(holder, h('p', { class: 'empty' }, error instanceof ApiError && error.status === 404 ? t('usage.unavailable') : String(/** @type {Error} */ (error).message)));
  }
  return section(t('collective.usage'), holder);
}

/**
 * The collective's own audit log (its managers may read it), newest first, with members' names
 * instead of account ids where known.
 * @param {Collective} c @param {any[]} members
 */
async function auditSection(c, members) {
  let content;
  /** @type {Map<string, string>} */
  const names = new Map(members.map((m) => [m.id ?? m.accountId, m.name || m.username]));
  /** @param {string} text */
  const named = (text) => text.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g, (id) => names.get(id) ?? id);
  try {
    const body = await api.get(`/collectives/${enc(c.id)}/audit?limit=20`);
    const events = [...itemsOf(body)].sort((a, b) => b.time - a.time);
    content = table(
      t('collective.audit'),
      [t('audit.when'), t('audit.who'), t('audit.action'), t('audit.target')],
      events.map((e) => [formatTime(e.time), named(String(e.actor)), h('code', null, e.action), named(`${e.target?.type ?? ''} ${e.target?.id ?? ''}`)]),
      t('audit.empty'),
    );
  } catch (error) {
    content = h('p', { class: 'empty' }, error instanceof Error ? error.message : String(error));
  }
  return section(t('collective.audit'), content);
}

/** Platform admins may delete a collective (its members keep their accounts). @param {Collective} c @param {import('../app.js').PageContext} ctx */
function deleteSection(c, ctx) {
  const box = errorBox();
  return section(
    t('collective.delete'),
    h('p', null, t('collective.deleteText')),
    box,
    actionButton(t('collective.deleteButton', { name: c.name || c.id }), async () => {
      await api.del(`/collectives/${enc(c.id)}`);
      announce(t('collective.deleted', { name: c.name || c.id }));
      ctx.navigate('/admin/collectives');
    }, { box, kind: 'danger', confirmText: t('collective.confirmDelete', { name: c.name || c.id }) }),
  );
}

/**
 * The collective's plans (platform admins): its subscriptions, each possibly covering its members
 * (a collective that pays meetings for its people), with add and end.
 * @param {Collective} c @param {() => void} reload
 */
async function plansSection(c, reload) {
  const [subsBody, policy] = await Promise.all([api.get(`/subscriptions?collective=${enc(c.id)}`), api.get('/policy')]);
  const now = Date.now();
  /** @type {any[]} */
  const active = (subsBody.items ?? []).filter((/** @type {any} */ s) => s.from <= now && (s.to === undefined || now < s.to));
  const plans = Object.entries(policy.document?.plans ?? {}).filter(([, p]) => (/** @type {any} */ (p).holders ?? ['collective']).includes('collective'));
  const box = errorBox();
  const rows = active.map((s) => [
    s.plan,
    s.coversMembers ? t('collective.coversYes') : t('collective.coversNo'),
    actionButton(t('accounts.endPlan'), async () => {
      const { id: _id, ...rest } = s;
      await api.put(`/subscriptions/${enc(s.id)}`, { ...rest, to: Date.now() });
      reload();
    }, { box, ariaLabel: t('collective.endPlanOf', { plan: s.plan }) }),
  ]);
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'inline-form', novalidate: true },
      h('div', { class: 'field' }, h('label', { for: `plan-${c.id}` }, t('collective.plan')), h('select', { id: `plan-${c.id}`, name: 'plan', 'data-field': 'plan' }, plans.map(([id, p]) => h('option', { value: id }, /** @type {any} */ (p).name ?? id))), h('p', { class: 'field-error', 'data-error-for': 'plan' })),
      h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'coversMembers', 'data-field': 'coversMembers' }), ' ', t('collective.covers')),
      h('button', { type: 'submit', class: 'secondary' }, t('collective.addPlan')),
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    const values = formValues(form);
    try {
      await api.post('/subscriptions', { holder: { collective: c.id }, plan: values.plan, from: Date.now(), coversMembers: values.coversMembers === 'on' });
      reload();
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(
    t('collective.plans'),
    box,
    table(t('collective.plans'), [t('collective.plan'), t('collective.coversTitle'), t('common.actions')], rows, t('collective.noPlans')),
    plans.length ? form : null,
  );
}
