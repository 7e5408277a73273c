// Pieces every page uses: the page frame, announcements for screen readers, error boxes, tables.
import { h, replace } from './dom.js';
import { t } from './i18n/index.js';
import { ApiError } from './api.js';

/** Says something to screen readers (and shows nothing): the #status region is aria-live. @param {string} text */
export function announce(text) {
  const status = document.getElementById('status');
  if (!status) return;
  status.textContent = '';
  // A tick later, so the same message twice is announced twice.
  setTimeout(() => (status.textContent = text), 50);
}

/**
 * A page: an h1 that takes the focus after navigation, then the content.
 * @param {string} title
 * @param {...import('./dom.js').Child} children
 */
export function page(title, ...children) {
  document.title = `${title} · Porta`;
  return [h('h1', { tabindex: '-1', class: 'page-title' }, title), ...children];
}

/** An alert region for a form or section; empty until `showError`. */
export function errorBox() {
  return h('div', { class: 'error-box', role: 'alert', 'aria-live': 'assertive' });
}

/**
 * @param {HTMLElement} box
 * @param {unknown} error
 * @param {Record<string, string>} [unmatchedFields] field errors no input showed
 */
export function showError(box, error, unmatchedFields) {
  const message = error instanceof ApiError || error instanceof Error ? error.message : String(error);
  const fields = Object.entries(unmatchedFields ?? {});
  replace(box, h('p', null, message), fields.length ? h('ul', null, fields.map(([name, text]) => h('li', null, h('code', null, name), ' ', text))) : null);
  box.classList.add('shown');
}

/** @param {HTMLElement} box */
export function clearError(box) {
  replace(box);
  box.classList.remove('shown');
}

/**
 * A table with a caption and column headers.
 * @param {string} caption
 * @param {string[]} headers
 * @param {import('./dom.js').Child[][]} rows
 * @param {string} [empty] shown when there are no rows
 */
export function table(caption, headers, rows, empty = t('common.none')) {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'div',
    { class: 'table-wrap', role: 'region', 'aria-label': caption, tabindex: '0' },
    h(
      'table',
      null,
      h('caption', null, caption),
      h('thead', null, h('tr', null, headers.map((name) => h('th', { scope: 'col' }, name)))),
      h('tbody', null, rows.map((cells) => h('tr', null, cells.map((cell, i) => (i === 0 ? h('th', { scope: 'row' }, cell) : h('td', null, cell)))))),
    ),
  );
}

/**
 * A button that runs an async action, disabled while it runs; errors go to `box`.
 * @param {string} label
 * @param {() => Promise<void>} action
 * @param {{ box?: HTMLElement, kind?: string, confirmText?: string, ariaLabel?: string }} [options]
 */
export function actionButton(label, action, options = {}) {
  const button = /** @type {HTMLButtonElement} */ (
    h('button', {
      type: 'button',
      class: options.kind ?? 'secondary',
      'aria-label': options.ariaLabel,
      onclick: async () => {
        if (options.confirmText && !window.confirm(options.confirmText)) return;
        button.disabled = true;
        if (options.box) clearError(options.box);
        try {
          await action();
        } catch (error) {
          if (options.box) showError(options.box, error);
          else announce(error instanceof Error ? error.message : String(error));
        } finally {
          button.disabled = false;
        }
      },
    })
  );
  button.textContent = label;
  return button;
}

/** What to show instead of a page when the API refuses or fails. @param {unknown} error */
export function failure(error) {
  if (error instanceof ApiError && error.status === 403) {
    return page(t('error.forbidden.title'), h('p', { class: 'notice', role: 'alert' }, t('error.forbidden.text')));
  }
  if (error instanceof ApiError && error.status === 404) {
    return page(t('error.notFound.title'), h('p', { class: 'notice', role: 'alert' }, error.message));
  }
  return page(t('error.title'), h('p', { class: 'notice', role: 'alert' }, error instanceof Error ? error.message : String(error)));
}

/** @param {string} href @param {string} text */
export function link(href, text) {
  return h('a', { href, 'data-link': '' }, text);
}

/** A section with a heading (h2). @param {string} title @param {...import('./dom.js').Child} children */
export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', null, title), ...children);
}
