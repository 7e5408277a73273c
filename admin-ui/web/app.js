// The admin app: boot (sign-in callback, who am I), the header and navigation by role, and a small
// client-side router over `/admin/...` paths (real links, so keyboard and screen readers work).
import { h, replace } from './dom.js';
import { t, LANGUAGES, currentLanguage, setLanguage } from './i18n/index.js';
import { completeSignIn, signedIn, signIn, signOut } from './auth.js';
import { loadMe } from './session.js';
import { ApiError } from './api.js';
import { page, failure, announce } from './ui.js';
import { accountPage } from './pages/account.js';
import { collectivesPage, collectivePage } from './pages/collectives.js';
import { accountsPage } from './pages/accounts.js';
import { policyPage, historyPage, policyJsonPage } from './pages/policy.js';
import { clientsPage, outboxPage, auditPage } from './pages/platform.js';
import { usagePage, billingPage } from './pages/usage.js';
import { invitationPage } from './pages/invitation.js';

/**
 * @typedef {import('./session.js').Me} Me
 * @typedef {{ me: Me, params: Record<string, string>, query: URLSearchParams, navigate: (path: string) => void }} PageContext
 * @typedef {(ctx: PageContext) => Promise<import('./dom.js').Child>} PageFn
 * @typedef {{ path: string, page: PageFn, admin?: boolean }} Route
 */

/** @type {Route[]} */
const ROUTES = [
  { path: '/admin/account', page: accountPage },
  { path: '/admin/invitation', page: invitationPage },
  { path: '/admin/collectives', page: collectivesPage },
  { path: '/admin/collectives/:id', page: collectivePage },
  { path: '/admin/accounts', page: accountsPage, admin: true },
  { path: '/admin/policy', page: policyPage, admin: true },
  { path: '/admin/policy/history', page: historyPage, admin: true },
  { path: '/admin/policy/json', page: policyJsonPage, admin: true },
  { path: '/admin/clients', page: clientsPage, admin: true },
  { path: '/admin/outbox', page: outboxPage, admin: true },
  { path: '/admin/usage', page: usagePage },
  { path: '/admin/billing', page: billingPage, admin: true },
  { path: '/admin/audit', page: auditPage, admin: true },
];

/** @param {string} pattern @param {string} path @returns {Record<string, string> | undefined} */
function match(pattern, path) {
  const a = pattern.split('/');
  const b = path.replace(/\/+$/, '').split('/');
  if (a.length !== b.length) return undefined;
  /** @type {Record<string, string>} */
  const params = {};
  for (let i = 0; i < a.length; i++) {
    const part = a[i] ?? '';
    if (part.startsWith(':')) params[part.slice(1)] = decodeURIComponent(b[i] ?? '');
    else if (part !== b[i]) return undefined;
  }
  return params;
}

/** @type {Me | undefined} */
let me;
const main = /** @type {HTMLElement} */ (document.getElementById('main'));

/** @param {Me | undefined} who */
function renderHeader(who) {
  const top = /** @type {HTMLElement} */ (document.getElementById('top'));
  const skip = document.querySelector('.skip-link');
  if (skip) skip.textContent = t('nav.skip');
  const nav = document.getElementById('nav');
  if (nav) nav.setAttribute('aria-label', t('nav.sections'));
  const select = h(
    'select',
    {
      id: 'language',
      onchange: (/** @type {Event} */ e) => {
        setLanguage(/** @type {HTMLSelectElement} */ (e.target).value);
        focusHeading = false;
        if (me) render();
        else signInPage();
        /** @type {HTMLElement | null} */ (document.getElementById('language'))?.focus();
      },
    },
    Object.entries(LANGUAGES).map(([code, name]) => h('option', { value: code, lang: code, selected: code === currentLanguage() }, name)),
  );
  replace(
    top,
    h('a', { class: 'brand', href: '/admin/', 'data-link': '' }, 'Porta'),
    h('div', { class: 'top-tools' },
      h('label', { for: 'language', class: 'lang-label' }, t('nav.language')),
      select,
      who ? h('span', { class: 'who' }, who.name || who.username) : null,
      who ? h('button', { type: 'button', class: 'secondary', onclick: () => signOut() }, t('nav.signOut')) : null,
    ),
  );
}

/** @param {Me | undefined} who @param {string} path */
function renderNav(who, path) {
  const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
  if (!who) return replace(nav);
  /** @type {Array<[string, string]>} */
  const items = [['/admin/account', t('nav.account')]];
  if (who.platformAdmin || who.managerOf.length > 0) items.push(['/admin/collectives', who.platformAdmin ? t('nav.collectives') : t('nav.myCollectives')]);
  if (who.platformAdmin) {
    items.push(
      ['/admin/accounts', t('nav.accounts')],
      ['/admin/policy', t('nav.policy')],
      ['/admin/clients', t('nav.clients')],
      ['/admin/outbox', t('nav.outbox')],
      ['/admin/usage', t('nav.usage')],
      ['/admin/billing', t('nav.billing')],
      ['/admin/audit', t('nav.audit')],
    );
  }
  replace(
    nav,
    h('ul', null, items.map(([href, label]) => {
      const current = path === href || (href !== '/admin/account' && path.startsWith(`${href}/`));
      return h('li', null, h('a', { href, 'data-link': '', 'aria-current': current ? 'page' : undefined }, label));
    })),
  );
}

/** @param {Me} who */
function home(who) {
  if (who.platformAdmin) return '/admin/collectives';
  if (who.managerOf.length > 0) return '/admin/collectives';
  return '/admin/account';
}

/** @param {string} path */
function navigate(path) {
  history.pushState(null, '', path);
  render();
}

let renderCount = 0;
let focusHeading = true;
/** Whether a page was shown already (the first one keeps the focus at the top). */
let shown = false;

async function render() {
  const mine = ++renderCount;
  const path = location.pathname;
  rendered = path + location.search;
  renderHeader(me);
  if (!me) return;
  if (path === '/admin' || path === '/admin/' || path === '/admin/callback') {
    history.replaceState(null, '', home(me));
    return render();
  }
  renderNav(me, path);
  main.setAttribute('aria-busy', 'true');
  // The previous page stays visible while the next one loads; make it inert so that nothing typed
  // into it is lost when the next page replaces it.
  main.inert = true;
  /** @type {import('./dom.js').Child} */
  let content;
  const found = ROUTES.map((route) => ({ route, params: match(route.path, path) })).find((r) => r.params);
  if (!found) content = page(t('error.notFound.title'), h('p', { class: 'notice' }, t('error.notFound.text')));
  else if (found.route.admin && !me.platformAdmin) content = page(t('error.forbidden.title'), h('p', { class: 'notice', role: 'alert' }, t('error.forbidden.text')));
  else {
    try {
      content = await found.route.page({ me, params: found.params ?? {}, query: new URLSearchParams(location.search), navigate });
    } catch (error) {
      content = failure(error);
    }
  }
  if (mine !== renderCount) return; // a later navigation won
  replace(main, content);
  main.removeAttribute('aria-busy');
  main.inert = false;
  // After a navigation inside the app, the new page's heading takes the focus (a screen reader
  // announces it); on the first load the focus stays at the top, where the skip link is.
  if (shown && focusHeading) /** @type {HTMLElement | null} */ (main.querySelector('h1'))?.focus();
  focusHeading = true;
  shown = true;
}

document.addEventListener('click', (event) => {
  const target = /** @type {Element | null} */ (event.target instanceof Element ? event.target.closest('a[data-link]') : null);
  if (!target || !(target instanceof HTMLAnchorElement)) return;
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  if (target.origin !== location.origin || !target.pathname.startsWith('/admin')) return;
  event.preventDefault();
  navigate(target.pathname + target.search);
});
// Back and forward re-render; a change of the #fragment only (the skip link) does not.
let rendered = '';
window.addEventListener('popstate', () => {
  if (location.pathname + location.search !== rendered) render();
});

function signInPage(message = '') {
  renderHeader(undefined);
  replace(
    main,
    page(
      t('signIn.title'),
      h('p', null, t('signIn.text')),
      message ? h('p', { class: 'notice', role: 'alert' }, message) : null,
      h('button', { type: 'button', class: 'primary', onclick: () => signIn(location.pathname.startsWith('/admin/callback') ? '/admin/' : location.pathname + location.search) }, t('signIn.button')),
    ),
  );
}

async function boot() {
  if (location.pathname === '/admin/callback') {
    try {
      const next = await completeSignIn();
      history.replaceState(null, '', next);
    } catch (error) {
      history.replaceState(null, '', '/admin/');
      return signInPage(t('signIn.failed', { reason: error instanceof Error ? error.message : String(error) }));
    }
  }
  if (!signedIn()) return signInPage();
  try {
    me = await loadMe();
  } catch (error) {
    if (error instanceof ApiError && error.code === 'refused_after_sign_in') return signInPage(t('signIn.refused', { reason: error.message }));
    if (!signedIn()) return signInPage();
    renderHeader(undefined);
    replace(main, failure(error));
    return;
  }
  announce(t('signIn.welcome', { name: me.name || me.username }));
  await render();
}

boot();
