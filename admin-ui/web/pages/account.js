// The member's own page: plan, use against each quota, collectives and granted services, sessions,
// password change and an export of their own data.
import { h, field, formValues, showFieldErrors, replace } from '../dom.js';
import { t, formatBytes, formatNumber, formatTime } from '../i18n/index.js';
import { api, enc, ApiError, offers } from '../api.js';
import { quotaBar } from '../charts.js';
import { claims, signOut } from '../auth.js';
import { page, section, table, errorBox, showError, clearError, actionButton, announce } from '../ui.js';

/** @typedef {{ id: string, used: number, limit: number | null | undefined, unit: 'bytes' | 'minutes' }} Quota limit: null = unlimited, undefined = not known */

const QUOTA_KINDS = /** @type {const} */ ([
  { id: 'storage', unit: 'bytes', keys: ['storage', 'storageBytes', 'oficinaStorage'] },
  { id: 'meetingMinutes', unit: 'minutes', keys: ['meetingMinutes', 'hostedMinutesPerDay', 'hostMinutes', 'hostedMinutes'] },
  { id: 'recordingStorage', unit: 'bytes', keys: ['recordingStorage', 'recordings', 'recordingBytes'] },
]);

/** @param {unknown} v @returns {number | null | undefined} */
const num = (v) => (v === null ? null : typeof v === 'number' ? v : typeof v === 'string' && v !== '' && !Number.isNaN(Number(v)) ? Number(v) : undefined);

/**
 * Reads the quotas out of `/me/usage`, whichever of the shapes it has: a `quotas` list, or
 * `{ storage: { used, limit } … }`, or `{ limits: {…}, used: {…} }`.
 * @param {any} body @returns {Quota[]}
 */
export function quotasOf(body) {
  /** @type {Quota[]} */
  const out = [];
  for (const kind of QUOTA_KINDS) {
    let used;
    /** @type {number | null | undefined} */
    let limit;
    const listed = Array.isArray(body?.quotas) ? body.quotas.find((/** @type {any} */ q) => /** @type {readonly string[]} */ (kind.keys).includes(q.id ?? q.kind ?? q.name)) : undefined;
    if (listed) {
      used = num(listed.used);
      limit = num(listed.limit);
    } else {
      for (const key of kind.keys) {
        const entry = body?.[key] ?? body?.quota?.[key] ?? body?.usage?.[key];
        if (entry && typeof entry === 'object') {
          used ??= num(entry.used);
          if (limit === undefined) limit = num(entry.limit);
        }
        if (used === undefined) used = num(body?.used?.[key]);
        if (limit === undefined) limit = num(body?.limits?.[key]);
      }
    }
    if (used !== undefined || limit !== undefined) out.push({ id: kind.id, unit: kind.unit, used: used ?? 0, limit });
  }
  return out;
}

/** Nextcloud-style quota text ("5 GB", "none") to bytes; null = unlimited. @param {string | undefined} text */
export function parseQuota(text) {
  if (text === undefined) return undefined;
  const m = /^(none|default|(\d+(?:\.\d+)?)\s?(b|k|kb|m|mb|g|gb|t|tb)?)$/i.exec(text.trim());
  if (!m) return undefined;
  if (!m[2]) return m[1]?.toLowerCase() === 'none' ? null : undefined;
  const power = { b: 0, k: 1, kb: 1, m: 2, mb: 2, g: 3, gb: 3, t: 4, tb: 4 }[(m[3] ?? 'b').toLowerCase()] ?? 0;
  return Math.round(Number(m[2]) * 1024 ** power);
}

/**
 * Without `GET /me/plan`: the use comes from the member's own usage records this month (storage:
 * the latest day's stored bytes; meetings: hosted minutes), the storage limit from the ID token's
 * `quota` claim; limits the API does not tell are shown as not known.
 * @param {any[]} records @param {import('../auth.js').IdClaims | undefined} id @returns {Quota[]}
 */
export function quotasFromRecords(records, id) {
  /** @type {Map<string, number>} */
  const storageByDay = new Map();
  let hostMinutes = 0;
  for (const r of records) {
    const units = r.units ?? {};
    if (units.storageByteDays) {
      const day = new Date(r.time).toISOString().slice(0, 10);
      storageByDay.set(day, (storageByDay.get(day) ?? 0) + units.storageByteDays);
    }
    hostMinutes += units.hostMinutes ?? 0;
  }
  const lastDay = [...storageByDay.keys()].sort().at(-1);
  return [
    { id: 'storage', unit: 'bytes', used: lastDay ? (storageByDay.get(lastDay) ?? 0) : 0, limit: parseQuota(id?.quota) },
    { id: 'meetingMinutes', unit: 'minutes', used: hostMinutes, limit: undefined },
  ];
}

/** @param {Quota} q */
function bar(q) {
  const text = (/** @type {number | null} */ v) => (v === null ? t('common.unlimited') : q.unit === 'bytes' ? formatBytes(v) : `${formatNumber(v)} ${t('account.minutes')}`);
  const limitText = q.limit === undefined ? t('account.limitUnknown') : q.limit === 0 ? t('account.notIncluded') : text(q.limit);
  return quotaBar({ label: t(`account.quota.${q.id}`), used: q.used, limit: q.limit ?? null, usedText: text(q.used), limitText });
}

/** @param {import('../app.js').PageContext} ctx */
export async function accountPage(ctx) {
  const { me } = ctx;
  const usageBox = h('div');
  try {
    /** @type {Quota[]} */
    let quotas;
    let plan = me.plan;
    if (await offers('GET', '/me/plan')) {
      const body = await api.get('/me/plan');
      quotas = quotasOf(body);
      const plans = Array.isArray(body?.plans) ? body.plans.map((/** @type {any} */ p) => (typeof p === 'string' ? p : (p.name ?? p.id))) : [];
      if (plans.length) plan = plans.join(', ');
    } else {
      const today = new Date().toISOString().slice(0, 10);
      const body = await api.get(`/me/usage?from=${today.slice(0, 8)}01&to=${today}`);
      quotas = quotasFromRecords(body?.records ?? [], claims());
    }
    replace(
      usageBox,
      plan ? h('p', { class: 'plan' }, t('account.plan'), ' ', h('strong', null, plan)) : null,
      h('div', { class: 'quotas' }, quotas.map(bar)),
    );
  } catch (error) {
    replace(usageBox, me.plan ? h('p', { class: 'plan' }, t('account.plan'), ' ', h('strong', null, me.plan)) : null, h('p', { class: 'empty' }, error instanceof ApiError && error.status === 404 ? t('usage.unavailable') : String(/** @type {Error} */ (error).message)));
  }

  return page(
    t('account.title'),
    h('dl', { class: 'facts' }, h('dt', null, t('account.name')), h('dd', null, me.name || '—'), h('dt', null, t('account.username')), h('dd', null, me.username || '—'), h('dt', null, t('account.email')), h('dd', null, me.email || '—')),
    section(t('account.usage'), usageBox),
    await collectivesSection(me),
    await sessionsSection(),
    await factorsSection(),
    await devicesSection(),
    nameSection(me),
    passwordSection(),
    exportSection(),
    deleteSection(me),
  );
}

/** @param {import('../session.js').Me} me */
async function collectivesSection(me) {
  const memberships = me.memberships ?? me.memberOf.map((collectiveId) => ({ collectiveId, collectiveName: undefined, manager: me.managerOf.includes(collectiveId), grants: undefined }));
  /** @type {Map<string, string>} */
  const names = new Map();
  if (memberships.length) {
    const body = await api.get('/collectives?limit=500').catch(() => ({ items: [] }));
    for (const c of body.items ?? []) names.set(c.id, c.name);
  }
  const box = errorBox();
  return section(
    t('account.collectives'),
    box,
    table(
      t('account.collectives'),
      [t('account.collective'), t('collective.role'), t('account.services'), t('common.actions')],
      memberships.map((m) => {
        const name = m.collectiveName ?? names.get(m.collectiveId) ?? m.collectiveId;
        return [
          me.managerOf.includes(m.collectiveId) ? h('a', { href: `/admin/collectives/${enc(m.collectiveId)}`, 'data-link': '' }, name) : name,
          m.manager ? t('collective.manager') : t('collective.member'),
          m.grants === undefined ? '—' : m.grants.length ? h('ul', { class: 'services' }, m.grants.map((s) => h('li', null, s))) : t('account.noServices'),
          actionButton(t('account.leave'), async () => {
            await api.post(`/collectives/${enc(m.collectiveId)}/leave`, {});
            // Roles changed: start again from who I am now.
            location.assign('/admin/account');
          }, { box, ariaLabel: t('account.leaveOf', { name }), confirmText: t('account.confirmLeave', { name }) }),
        ];
      }),
      t('account.noCollectives'),
    ),
  );
}

/** @param {import('../session.js').Me} me */
function nameSection(me) {
  const box = errorBox();
  const done = h('p', { role: 'status', class: 'success' });
  const form = /** @type {HTMLFormElement} */ (
    h('form', { class: 'inline-form', novalidate: true }, box, field({ label: t('account.nameLabel'), name: 'name', value: me.name, autocomplete: 'name', required: true }), h('button', { type: 'submit', class: 'secondary' }, t('account.saveName')), done)
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    done.textContent = '';
    try {
      const account = await api.patch('/me', { name: formValues(form).name?.trim() ?? '' });
      me.name = account.name;
      showFieldErrors(form, {});
      done.textContent = t('account.nameSaved');
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(t('account.nameTitle'), form);
}

/** Deleting one's own account: the directory keeps nothing personal; usage stays under an anonymous id. @param {import('../session.js').Me} me */
function deleteSection(me) {
  const box = errorBox();
  return section(
    t('account.deleteTitle'),
    h('p', null, t('account.deleteText')),
    box,
    actionButton(t('account.deleteButton'), async () => {
      await api.del('/me');
      await signOut();
    }, { box, kind: 'danger', confirmText: t('account.confirmDelete', { name: me.username }) }),
  );
}

async function sessionsSection() {
  const box = errorBox();
  /** @type {any[] | undefined} */
  let sessions;
  if (!(await offers('GET', '/me/sessions'))) return section(t('account.sessions'), h('p', { class: 'empty' }, t('account.sessionsUnavailable')));
  try {
    const body = await api.get('/me/sessions');
    sessions = Array.isArray(body) ? body : (body.items ?? []);
  } catch (error) {
    if (!(error instanceof ApiError && error.status === 404)) showError(box, error);
  }
  if (!sessions) return section(t('account.sessions'), box, h('p', { class: 'empty' }, t('account.sessionsUnavailable')));
  const holder = h('div');
  const render = () =>
    replace(
      holder,
      table(
        t('account.sessions'),
        [t('account.device'), t('account.signedInAt'), t('account.lastSeen'), t('common.actions')],
        (sessions ?? []).map((s) => [
          s.device ?? s.userAgent ?? s.clientName ?? s.clientId ?? s.id,
          formatTime(s.createdAt ?? s.loginTs ?? s.iat),
          s.current ? t('account.thisDevice') : formatTime(s.lastSeen ?? s.updatedAt),
          actionButton(t('account.revoke'), async () => {
            await api.del(`/me/sessions/${enc(s.id)}`);
            sessions = (sessions ?? []).filter((x) => x !== s);
            announce(t('account.revoked'));
            render();
          }, { box, ariaLabel: t('account.revokeOf', { device: s.device ?? s.clientName ?? s.id }) }),
        ]),
        t('account.noSessions'),
      ),
    );
  render();
  return section(t('account.sessions'), box, holder);
}

/**
 * The second factors (authenticator app, passkeys) with remove buttons; setting one up happens on the
 * IdP's own page (QR code, WebAuthn), linked from here.
 */
async function factorsSection() {
  const box = errorBox();
  if (!(await offers('GET', '/me/factors'))) return section(t('account.factors'), h('p', { class: 'empty' }, t('common.unavailable')));
  /** @type {any} */
  let body;
  try {
    body = await api.get('/me/factors');
  } catch (error) {
    showError(box, error);
    return section(t('account.factors'), box);
  }
  const holder = h('div');
  const render = () => {
    /** @type {Array<{ kind: 'totp' | 'passkey', id?: string, name: string, createdAt: number }>} */
    const factors = [
      ...(body.totp ? [{ kind: /** @type {const} */ ('totp'), name: t('account.factorTotp'), createdAt: body.totp.createdAt }] : []),
      ...(body.passkeys ?? []).map((/** @type {any} */ p) => ({ kind: /** @type {const} */ ('passkey'), id: p.id, name: t('account.factorPasskey', { name: p.name }), createdAt: p.createdAt })),
    ];
    replace(
      holder,
      table(
        t('account.factors'),
        [t('account.factor'), t('account.factorAdded'), t('common.actions')],
        factors.map((f) => [
          f.name,
          formatTime(f.createdAt),
          actionButton(t('account.factorRemove'), async () => {
            await api.del(f.kind === 'totp' ? '/me/factors/totp' : `/me/factors/passkeys/${enc(f.id ?? '')}`);
            body = await api.get('/me/factors');
            announce(t('account.factorRemoved', { name: f.name }));
            render();
          }, { box, ariaLabel: t('account.factorRemoveOf', { name: f.name }), confirmText: t('account.confirmFactorRemove', { name: f.name }) }),
        ]),
        t('account.noFactors'),
      ),
      factors.length ? h('p', null, t('account.recoveryLeft', { count: body.recoveryCodesLeft ?? 0 })) : null,
    );
  };
  render();
  return section(t('account.factors'), h('p', null, t('account.factorsText')), box, holder, h('p', null, h('a', { href: body.enrolUrl ?? '/account/factors', class: 'button secondary' }, t('account.factorsEnrol'))));
}

/**
 * Device passwords for sync apps (Nextcloud desktop and mobile, WebDAV apps) on Oficina: the list
 * with revoke buttons, and a form that creates one and shows its password this once.
 */
async function devicesSection() {
  const title = t('account.devices');
  if (!(await offers('GET', '/me/devices'))) return section(title, h('p', { class: 'empty' }, t('common.unavailable')));
  const box = errorBox();
  /** @type {any[]} */
  let devices = [];
  try {
    devices = (await api.get('/me/devices')).items ?? [];
  } catch (error) {
    showError(box, error);
  }
  const holder = h('div');
  const shown = h('div', { role: 'status' });
  const render = () =>
    replace(
      holder,
      table(
        title,
        [t('account.deviceName'), t('account.factorAdded'), t('account.deviceLastUsed'), t('common.actions')],
        devices.map((d) => [
          d.name,
          formatTime(d.createdAt),
          d.lastUsedAt ? formatTime(d.lastUsedAt) : t('account.deviceNeverUsed'),
          actionButton(t('account.deviceRevoke'), async () => {
            await api.del(`/me/devices/${enc(d.deviceId)}`);
            devices = devices.filter((x) => x !== d);
            replace(shown);
            announce(t('account.deviceRevoked', { name: d.name }));
            render();
          }, { box, ariaLabel: t('account.deviceRevokeOf', { name: d.name }), confirmText: t('account.confirmDeviceRevoke', { name: d.name }) }),
        ]),
        t('account.noDevices'),
      ),
    );
  render();
  const form = /** @type {HTMLFormElement} */ (
    h('form', { class: 'inline-form', novalidate: true }, field({ label: t('account.deviceName'), name: 'name', required: true, hint: t('account.deviceNameHint') }), h('button', { type: 'submit', class: 'secondary' }, t('account.deviceCreate')))
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    try {
      const created = await api.post('/me/devices', { name: formValues(form).name?.trim() ?? '' });
      devices = [...devices, created.device];
      form.reset();
      showFieldErrors(form, {});
      // The password exists only in this answer: show it once, never store it.
      replace(
        shown,
        h('p', { class: 'success' }, t('account.deviceCreated', { name: created.device.name })),
        h('dl', { class: 'facts' }, h('dt', null, t('account.deviceUsername')), h('dd', null, h('code', null, created.username)), h('dt', null, t('account.devicePassword')), h('dd', null, h('code', { class: 'secret' }, created.password))),
      );
      render();
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(title, h('p', null, t('account.devicesText')), box, holder, form, shown);
}

function passwordSection() {
  const box = errorBox();
  const done = h('p', { role: 'status', class: 'success' });
  const form = /** @type {HTMLFormElement} */ (
    h(
      'form',
      { class: 'stack', novalidate: true },
      box,
      field({ label: t('account.currentPassword'), name: 'currentPassword', type: 'password', autocomplete: 'current-password', required: true }),
      field({ label: t('account.newPassword'), name: 'newPassword', type: 'password', autocomplete: 'new-password', required: true, hint: t('account.passwordHint') }),
      field({ label: t('account.repeatPassword'), name: 'repeat', type: 'password', autocomplete: 'new-password', required: true }),
      h('button', { type: 'submit', class: 'primary' }, t('account.changePassword')),
      done,
    )
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    clearError(box);
    done.textContent = '';
    const values = formValues(form);
    if (values.newPassword !== values.repeat) {
      showFieldErrors(form, { repeat: t('account.passwordsDiffer') });
      return;
    }
    try {
      await api.post('/me/password', { currentPassword: values.currentPassword ?? '', newPassword: values.newPassword ?? '' });
      form.reset();
      showFieldErrors(form, {});
      done.textContent = t('account.passwordChanged');
    } catch (error) {
      showError(box, error, error instanceof ApiError ? showFieldErrors(form, error.fields) : {});
    }
  });
  return section(t('account.password'), form);
}

function exportSection() {
  const box = errorBox();
  return section(
    t('account.export'),
    h('p', null, t('account.exportText')),
    box,
    actionButton(t('account.exportButton'), async () => {
      /** @type {Blob} */
      let blob;
      if (await offers('GET', '/me/export')) blob = await (await api.raw('/me/export')).blob();
      else {
        // No export endpoint: gather what the API gives about the caller into one JSON file.
        const [account, usage] = await Promise.all([api.get('/me'), api.get('/me/usage').catch(() => undefined)]);
        blob = new Blob([JSON.stringify({ exportedAt: new Date().toISOString(), account, usage }, null, 2)], { type: 'application/json' });
      }
      const url = URL.createObjectURL(blob);
      const a = h('a', { href: url, download: 'porta-my-data.json', class: 'visually-hidden' }, 'export');
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10_000);
      announce(t('account.exported'));
    }, { box, kind: 'secondary' }),
  );
}
