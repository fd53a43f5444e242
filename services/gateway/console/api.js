// The console's one way to the server: Herald's public API, called with the signed-in user's
// secrets. The secrets live in sessionStorage only (gone when the tab closes, never in a URL,
// never logged), so the console can do nothing the API would not let that user do.

const BASE = '/elements/api-v2';
const CREDENTIALS = 'herald.credentials';

/** An answer other than 2xx, with the API's own message. */
export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/** What the console kept under `key` in sessionStorage (null if nothing, or not JSON). */
export function read(key) {
  try {
    return JSON.parse(sessionStorage.getItem(key) || 'null');
  } catch {
    return null;
  }
}

export function signedIn() {
  const c = read(CREDENTIALS);
  return Boolean(c && c.user && c.org);
}

function platformAuth(c) {
  return `User ${c.user}, Organization ${c.org}`;
}

/**
 * Checks the secrets with a call that needs them, and keeps them only if the API accepted them.
 */
export async function signIn(user, org) {
  const c = { user: user.trim(), org: org.trim() };
  await request('GET', '/instances', { auth: platformAuth(c) });
  sessionStorage.setItem(CREDENTIALS, JSON.stringify(c));
}

/** Forgets everything the console kept: the secrets and a pending creation. */
export function signOut() {
  sessionStorage.clear();
}

/** The query string of the set entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function request(method, path, { auth, body } = {}) {
  const headers = { Accept: 'application/json' };
  if (auth) headers.Authorization = auth;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  let resp;
  try {
    resp = await fetch(BASE + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
  } catch {
    throw new ApiError(0, 'The gateway did not answer; check that Herald is running.');
  }
  const text = await resp.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = text;
  }
  if (!resp.ok) {
    const message = data && typeof data === 'object' && typeof data.message === 'string'
      ? data.message
      : `${resp.status} ${resp.statusText}`;
    throw new ApiError(resp.status, message);
  }
  return { data, headers: resp.headers };
}

/** A call with the signed-in user's platform credentials. */
export async function call(method, path, body) {
  const c = read(CREDENTIALS);
  if (!c) throw new ApiError(401, 'Sign in first.');
  return request(method, path, { auth: platformAuth(c), body });
}

/** A call that needs no credentials (the catalog). */
export async function open(path) {
  return request('GET', path);
}

export async function getJson(path) {
  return (await call('GET', path)).data;
}

/**
 * The hub APIs the gateway serves, with their resources (`{documents: ['files', …]}`), read
 * from its own `/openapi.json`, so the catalog says what this gateway really serves.
 */
export async function hubApis() {
  const apis = {};
  try {
    const resp = await fetch('/openapi.json', { cache: 'no-store', credentials: 'omit' });
    if (!resp.ok) return apis;
    const doc = await resp.json();
    for (const path of Object.keys(doc.paths || {})) {
      const m = path.match(/^\/elements\/api-v2\/hubs\/([a-z]+)\/([a-z-]+)/);
      if (!m) continue;
      apis[m[1]] = apis[m[1]] || [];
      if (!apis[m[1]].includes(m[2])) apis[m[1]].push(m[2]);
    }
  } catch {
    // Without the description the catalog shows no hub API rather than a wrong one.
  }
  return apis;
}
