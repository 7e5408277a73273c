// Small DOM helpers. Everything is built with createElement and textContent: no innerHTML, so
// nothing a user typed can become markup, and the strict CSP (no inline script or style) holds.

/**
 * @typedef {string | number | Node | null | undefined | false | unknown[]} Child
 * @typedef {Record<string, unknown>} Props
 */

/**
 * Creates an element. Props: `class`, `on<event>` handlers, boolean attributes, `dataset`-style
 * `data-*`, anything else as an attribute. Children: strings, numbers, nodes, arrays; falsy skipped.
 * @param {string} tag
 * @param {Props | null} [props]
 * @param {...Child} children
 * @returns {HTMLElement}
 */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), /** @type {EventListener} */ (value));
    else if (key === 'value' && 'value' in el) /** @type {HTMLInputElement} */ (el).value = String(value);
    else if (key === 'checked') /** @type {HTMLInputElement} */ (el).checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

/** @param {Element} el @param {unknown[]} children */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.append(child instanceof Node ? child : String(child));
  }
}

const SVG = 'http://www.w3.org/2000/svg';

/**
 * An SVG element (charts).
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...(SVGElement | string)} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child);
  return el;
}

/** @param {Element} el @param {...Child} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

let fieldCounter = 0;

/**
 * A labelled input with a place for its error, linked by aria-describedby.
 * @param {{ label: string, name: string, value?: string | number | null, type?: string, required?: boolean, hint?: string, autocomplete?: string, list?: string, inputmode?: string, placeholder?: string, multiline?: boolean }} o
 */
export function field(o) {
  const id = `f${++fieldCounter}-${o.name.replace(/[^a-zA-Z0-9_-]/g, '-')}`;
  const errorId = `${id}-error`;
  const hintId = o.hint ? `${id}-hint` : undefined;
  const control = h(o.multiline ? 'textarea' : 'input', {
    id,
    name: o.name,
    type: o.multiline ? undefined : (o.type ?? 'text'),
    value: o.value ?? '',
    required: o.required,
    autocomplete: o.autocomplete,
    inputmode: o.inputmode,
    placeholder: o.placeholder,
    rows: o.multiline ? 16 : undefined,
    spellcheck: o.multiline ? 'false' : undefined,
    'data-field': o.name,
    'data-initial': String(o.value ?? ''),
    'aria-describedby': [hintId, errorId].filter(Boolean).join(' '),
  });
  return h(
    'div',
    { class: 'field' },
    h('label', { for: id }, o.label),
    control,
    o.hint ? h('p', { class: 'hint', id: hintId }, o.hint) : null,
    h('p', { class: 'field-error', id: errorId, 'data-error-for': o.name }),
  );
}

/**
 * Shows the API's `fields` next to the inputs named like them; returns the fields no input matched.
 * @param {HTMLElement} form
 * @param {Record<string, string> | undefined} fields
 * @returns {Record<string, string>}
 */
export function showFieldErrors(form, fields) {
  for (const p of form.querySelectorAll('[data-error-for]')) p.textContent = '';
  for (const input of form.querySelectorAll('[data-field]')) input.removeAttribute('aria-invalid');
  /** @type {Record<string, string>} */
  const unmatched = {};
  let first = /** @type {HTMLElement | null} */ (null);
  for (const [name, message] of Object.entries(fields ?? {})) {
    // `rules.2.paths.0` goes to the input for `rules.2.paths.0`, else the nearest one above it (`rules`).
    let target = name;
    let slot = null;
    let input = /** @type {HTMLElement | null} */ (null);
    while (target) {
      slot = form.querySelector(`[data-error-for="${CSS.escape(target)}"]`);
      input = form.querySelector(`[data-field="${CSS.escape(target)}"]`);
      if (slot && input) break;
      target = target.includes('.') ? target.slice(0, target.lastIndexOf('.')) : '';
    }
    if (slot && input) {
      const text = target === name ? message : `${name.slice(target.length + 1)}: ${message}`;
      slot.textContent = slot.textContent ? `${slot.textContent} · ${text}` : text;
      input.setAttribute('aria-invalid', 'true');
      first ??= input;
    } else unmatched[name] = message;
  }
  first?.focus();
  return unmatched;
}

/** @param {HTMLFormElement} form @returns {Record<string, string>} */
export function formValues(form) {
  /** @type {Record<string, string>} */
  const values = {};
  for (const [key, value] of new FormData(form)) values[key] = String(value);
  return values;
}
