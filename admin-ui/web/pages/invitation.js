// Accepting an invitation to a collective while signed in: `/admin/invitation?token=…`. The token
// comes from the invitation mail; the API checks it is valid and meant for this person's address.
import { h } from '../dom.js';
import { t } from '../i18n/index.js';
import { api } from '../api.js';
import { page, errorBox, actionButton } from '../ui.js';

/** @param {import('../app.js').PageContext} ctx */
export async function invitationPage(ctx) {
  const token = ctx.query.get('token') ?? '';
  if (!token) return page(t('invitation.title'), h('p', { class: 'notice', role: 'alert' }, t('invitation.noToken')));
  const box = errorBox();
  const done = h('div', { role: 'status' });
  const accept = actionButton(t('invitation.accept'), async () => {
    const result = await api.post('/invitations/accept', { token });
    accept.remove();
    done.append(h('p', { class: 'success' }, t('invitation.accepted', { collective: result.collectiveId })), h('a', { href: '/admin/account' }, t('invitation.toAccount')));
    /** @type {HTMLElement | null} */ (done.querySelector('a'))?.focus();
  }, { box, kind: 'primary' });
  return page(t('invitation.title'), h('p', null, t('invitation.text')), box, accept, done);
}
