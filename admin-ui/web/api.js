// The admin REST API client. Every call carries the bearer token in the Authorization header and no
// cookies (`credentials: 'omit'`): that is what makes the API immune to cross-site request forgery.
import { accessToken, refresh, signIn, justSignedIn } from './auth.js';

export const API = '/api/v1';

export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {Record<string, string>} [fields]
   */
  constructor(status, code, message, fields) {
    super(message);
    this.status = status;
    this.code = code;
    this.fields = fields;
  }
}

/**
 * Signs in again, unless that just happened: then the API refuses this account itself (suspended,
 * deleted) and another round through the IdP would loop, so the refusal is shown instead.
 * @param {string} message the API's or the IdP's reason
 * @returns {Promise<never>}
 */
async function signInAgain(message) {
  if (justSignedIn()) throw new ApiError(401, 'refused_after_sign_in', message);
  await signIn();
  throw new ApiError(401, 'unauthorized', 'Signing in…');
}

/** @param {Response} res */
async function reasonOf(res) {
  const body = await res.clone().json().catch(() => ({}));
  return String(body?.error?.message ?? `${res.status} ${res.statusText}`);
}

/**
 * @param {string} method
 * @param {string} path relative to /api/v1, e.g. `/collectives`
 * @param {{ body?: unknown, headers?: Record<string, string>, raw?: boolean }} [options]
 * @returns {Promise<any>}
 */
export async function request(method, path, options = {}) {
  const send = async () => {
    const token = await accessToken();
    if (!token) return signInAgain('Your session has ended and signing in again did not help.');
    /** @type {Record<string, string>} */
    const headers = { Accept: options.raw ? '*/*' : 'application/json', Authorization: `Bearer ${token}`, ...(options.headers ?? {}) };
    if (options.body !== undefined) headers['Content-Type'] = 'application/json';
    return fetch(`${API}${path}`, {
      method,
      headers,
      credentials: 'omit',
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
    });
  };
  let res = await send();
  if (res.status === 401) {
    // Expired or revoked: one refresh, then a new sign-in.
    const reason = await reasonOf(res);
    try {
      await refresh();
    } catch {
      return signInAgain(reason);
    }
    res = await send();
    if (res.status === 401) return signInAgain(await reasonOf(res));
  }
  if (!res.ok) {
    const body = await res.json().catch(() => ({}));
    const error = body?.error ?? {};
    throw new ApiError(res.status, error.code ?? 'error', error.message ?? `${res.status} ${res.statusText}`, error.fields);
  }
  if (options.raw) return res;
  if (res.status === 204) return undefined;
  const type = res.headers.get('content-type') ?? '';
  return type.includes('json') ? res.json() : res.text();
}

export const api = {
  /** @param {string} path */
  get: (path) => request('GET', path),
  /** @param {string} path @param {unknown} [body] @param {Record<string, string>} [headers] */
  post: (path, body, headers) => request('POST', path, { body: body ?? {}, headers }),
  /** @param {string} path @param {unknown} body @param {Record<string, string>} [headers] */
  put: (path, body, headers) => request('PUT', path, { body, headers }),
  /** @param {string} path @param {unknown} body */
  patch: (path, body) => request('PATCH', path, { body }),
  /** @param {string} path */
  del: (path) => request('DELETE', path),
  /** @param {string} path */
  raw: (path) => request('GET', path, { raw: true }),
};

/** @type {Promise<Set<string>> | undefined} */
let operations;

/**
 * Whether the API offers an operation, from its public OpenAPI document (`GET /me/sessions` …), so
 * the UI shows only what this Porta can do.
 * @param {string} method
 * @param {string} path OpenAPI style, e.g. `/me/sessions/{id}`
 */
export async function offers(method, path) {
  operations ??= fetch(`${API}/openapi.json`, { credentials: 'omit' })
    .then((res) => (res.ok ? res.json() : { paths: {} }))
    .then((doc) => {
      const set = new Set();
      for (const [p, item] of Object.entries(doc.paths ?? {})) for (const m of Object.keys(item ?? {})) set.add(`${m.toUpperCase()} ${p.replace(/\{[^}]+\}/g, '{}')}`);
      return set;
    })
    .catch(() => new Set());
  return (await operations).has(`${method.toUpperCase()} ${path.replace(/\{[^}]+\}/g, '{}')}`);
}

/** @param {string} segment */
export const enc = (segment) => encodeURIComponent(segment);
