// Read-only platform pages: OIDC clients, the mail outbox of the embedded default, the audit log.
import { h, field, formValues } from '../dom.js';
import { t, formatTime } from '../i18n/index.js';
import { api, enc, ApiError } from '../api.js';
import { page, section, table, link } from '../ui.js';

/** @param {any} body @returns {any[]} */
const itemsOf = (body) => (Array.isArray(body) ? body : (body?.items ?? []));

/** @param {unknown} error */
function unavailable(error) {
  if (error instanceof ApiError && error.status === 404) return h('p', { class: 'notice' }, error.code === 'not_found' ? t('common.unavailable') : error.message);
  throw error;
}

export async function clientsPage() {
  let content;
  try {
    const clients = itemsOf(await api.get('/clients'));
    content = table(
      t('clients.title'),
      [t('clients.id'), t('clients.name'), t('clients.redirects'), t('clients.grants'), t('clients.kind')],
      clients.map((c) => [
        h('code', null, c.clientId ?? c.client_id ?? c.id),
        c.name ?? c.client_name ?? '',
        h('ul', { class: 'plain' }, (c.redirectUris ?? c.redirect_uris ?? []).map((/** @type {string} */ u) => h('li', null, h('code', null, u)))),
        (c.grantTypes ?? c.grant_types ?? []).join(', '),
        [c.public || c.token_endpoint_auth_method === 'none' ? t('clients.public') : t('clients.confidential'), c.firstParty ? ` · ${t('clients.firstParty')}` : ''].join(''),
      ]),
    );
  } catch (error) {
    content = unavailable(error);
  }
  return page(t('clients.title'), h('p', { class: 'lead' }, t('clients.lead')), content);
}

/** @param {import('../app.js').PageContext} ctx */
export async function outboxPage(ctx) {
  const to = ctx.query.get('to') ?? '';
  let content;
  try {
    const mails = itemsOf(await api.get(`/outbox?limit=100${to ? `&to=${enc(to)}` : ''}`));
    content = mails.length
      ? mails.map((m) =>
          h(
            'article',
            { class: 'card mail' },
            h('h2', null, m.subject),
            h('p', { class: 'muted' }, t('outbox.to', { to: m.to }), ' · ', formatTime(m.time)),
            h('pre', { class: 'mail-body' }, m.text ?? ''),
          ),
        )
      : h('p', { class: 'empty' }, t('outbox.empty'));
  } catch (error) {
    content = unavailable(error);
  }
  const form = /** @type {HTMLFormElement} */ (h('form', { class: 'inline-form', role: 'search' }, field({ label: t('outbox.filter'), name: 'to', type: 'email', value: to }), h('button', { type: 'submit', class: 'secondary' }, t('common.show'))));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const next = formValues(form).to?.trim() ?? '';
    ctx.navigate(`/admin/outbox${next ? `?to=${enc(next)}` : ''}`);
  });
  return page(t('outbox.title'), h('p', { class: 'lead' }, t('outbox.lead')), form, content);
}

/** @param {import('../app.js').PageContext} ctx */
export async function auditPage(ctx) {
  const cursor = ctx.query.get('cursor') ?? '';
  let content;
  try {
    const body = await api.get(`/audit?limit=100${cursor ? `&cursor=${enc(cursor)}` : ''}`);
    const items = [...itemsOf(body)].sort((a, b) => b.time - a.time);
    // Who acted, by username (a few lookups; accounts that are gone keep their id).
    /** @type {Map<string, string>} */
    const names = new Map();
    const actors = [...new Set(items.map((e) => String(e.actor)))].filter((a) => /^[0-9a-f-]{36}$/.test(a)).slice(0, 30);
    await Promise.all(actors.map((id) => api.get(`/accounts/${enc(id)}`).then((a) => names.set(id, a.username), () => undefined)));
    content = [
      table(
        t('audit.title'),
        [t('audit.when'), t('audit.who'), t('audit.action'), t('audit.target'), t('audit.collective')],
        items.map((e) => [formatTime(e.time), names.get(e.actor) ?? e.actor, h('code', null, e.action), `${e.target?.type ?? ''} ${e.target?.id ?? ''}`, e.collectiveId ?? '']),
        t('audit.empty'),
      ),
      body.next ? link(`/admin/audit?cursor=${enc(body.next)}`, t('common.older')) : null,
    ];
  } catch (error) {
    content = unavailable(error);
  }
  return page(t('audit.title'), section(t('audit.recent'), content));
}
