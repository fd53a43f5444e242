// Create instance, the seed guide's steps: name, tags, event notifications, callback URL,
// signature key, the app's API key and secret, and the element's own entries (labelled by
// their configuration key); "Next" goes to the provider's OAuth page, which sends the browser
// back to /console/oauth/callback, where the instance is created with the code.
//
// The form waits in sessionStorage during the round trip (same tab, same origin: it comes
// back), with a random `state` that the callback must carry, so an answer that this tab did not
// ask for creates nothing.

import { ApiError, call, open, query, read } from './api.js';
import { ROOT, field, fieldError, h, notice, show } from './dom.js';

const PENDING = 'herald.pending';
const CALLBACK_PATH = `${ROOT}/oauth/callback`;

/** Entries the form asks for under the seed's own names (the contract's labels). */
const STANDARD = [
  ['event.notification.enabled', 'Event notifications'],
  ['event.notification.callback.url', 'Callback URL'],
  ['event.notification.signature.key', 'Signature key'],
  ['oauth.api.key', 'API key'],
  ['oauth.api.secret', 'API secret'],
];
/** Set by the console itself: the page the provider sends the browser back to. */
const AUTOMATIC = ['oauth.callback.url'];
/** The poller's configuration: JSON, checked before anything is sent. */
const POLLER_CONFIGURATION = 'event.poller.configuration';
const TEXTAREAS = [POLLER_CONFIGURATION, 'event.poller.urls'];

function redirectUri() {
  return `${location.origin}${CALLBACK_PATH}`;
}

function isFlag(entry) {
  return entry.default === 'true' || entry.default === 'false' || entry.key === 'event.notification.ordered';
}

/**
 * The control for one of an element's configuration entries, labelled by its key; `value` is
 * the current value when `editing` (absent: the default applies).
 */
export function entryField(entry, element, value, editing = false) {
  const hint = [
    entry.name && !/[.)]$/.test(entry.name) ? `${entry.name}.` : entry.name,
    entry.default !== null && entry.default !== undefined ? `Default: ${entry.default}.` : null,
    entry.required ? 'Required.' : null,
    entry.secret && editing ? 'Leave empty to keep the current value.' : null,
  ].filter(Boolean).join(' ');
  const base = { label: entry.key, name: entry.key, hint, required: entry.required };
  let f;
  if (entry.key === 'event.vendor.type') {
    const ev = element.eventsSupported || {};
    const options = [];
    if (ev.webhooks) options.push(['webhook', 'webhook']);
    if (ev.polling) options.push(['polling', 'polling']);
    f = field({ ...base, kind: 'select', options, value: value ?? entry.default ?? options[0]?.[0] });
  } else if (TEXTAREAS.includes(entry.key)) {
    const text = value && typeof value === 'object' ? JSON.stringify(value, null, 2) : (value ?? '');
    f = field({ ...base, kind: 'textarea', value: text });
  } else if (isFlag(entry)) {
    const on = value === undefined ? entry.default === 'true' : value === true || value === 'true';
    f = field({ ...base, kind: 'checkbox', value: on });
  } else if (entry.secret) {
    f = field({ ...base, kind: 'secret' });
  } else {
    f = field({ ...base, value: value === undefined || value === null ? '' : String(value) });
  }
  f.entry = entry;
  return f;
}

/** The value a field contributes to `configuration` (undefined: leave it out). */
export function entryValue(f) {
  const c = f.control;
  if (c.type === 'checkbox') return c.checked || f.entry.default != null ? c.checked : undefined;
  const v = c.value.trim();
  return v === '' ? undefined : v;
}

/** Client-side checks before anything is sent; returns [field, message] pairs. */
function entryProblems(fields) {
  const problems = [];
  for (const f of fields) {
    const v = entryValue(f);
    if (f.entry.required && (v === undefined || v === '')) problems.push([f, 'Required.']);
    if (f.entry.key === POLLER_CONFIGURATION && v !== undefined) {
      try {
        JSON.parse(v);
      } catch (err) {
        problems.push([f, `Not valid JSON: ${err.message}`]);
      }
    }
  }
  return problems;
}

/**
 * Puts the API's message next to each field it names (configuration keys, `name`, `tags`); a
 * "Missing required configuration" message marks each named field "Required.".
 */
export function showApiErrors(message, fields) {
  const missing = /^Missing required configuration:/.test(message);
  let rest = message;
  const named = [...fields].filter((f) => f.name).sort((a, b) => b.name.length - a.name.length);
  for (const f of named) {
    const plainWord = !f.name.includes('.');
    const hit = plainWord ? new RegExp(`^${f.name}\\b`, 'i').test(rest) : rest.includes(f.name);
    if (!hit) continue;
    if (!plainWord) rest = rest.split(f.name).join(' ');
    fieldError(f, missing ? 'Required.' : message);
  }
}

function randomState() {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Create instance for `key`; `opts.error` is shown (with field errors) over restored values. */
export async function createView(ctx, key, opts = {}) {
  document.title = 'Create instance · Herald console';
  const note = notice();
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const heading = h('h1', { tabindex: '-1' }, 'Create instance');
  show(ctx.main, heading, note.el, body);
  let element;
  try {
    element = (await open(`/elements/${encodeURIComponent(key)}`)).data;
  } catch (err) {
    ctx.failed(err, note.say);
    return;
  }
  if (ctx.signal.aborted) return;
  heading.textContent = `Create instance: ${element.name}`;
  document.title = `Create instance: ${element.name} · Herald console`;

  const name = field({ label: 'Name', name: 'name', required: true, hint: 'How this instance is listed.' });
  const tags = field({ label: 'Tags', name: 'tags', hint: 'Optional, separated by commas.' });
  const byKey = new Map((element.configuration || []).map((e) => [e.key, e]));
  const std = STANDARD.filter(([k]) => byKey.has(k)).map(([k, label]) => {
    const entry = byKey.get(k);
    const kind = k === 'event.notification.enabled' ? 'checkbox'
      : entry.secret ? 'secret' : k.endsWith('.url') ? 'url' : 'text';
    const hints = {
      'event.notification.enabled': 'Send this instance\'s events to the callback URL.',
      'event.notification.callback.url': 'Where Herald posts the event notifications (your application).',
      'event.notification.signature.key': 'Optional: Herald signs each notification with it (Elements-Webhook-Signature).',
      'oauth.api.key': `Your app's key (client id) at ${element.name}.`,
      'oauth.api.secret': `Your app's secret at ${element.name}.`,
    };
    const f = field({ label, name: k, kind, hint: hints[k], required: entry.required });
    f.entry = entry;
    return f;
  });
  const own = (element.configuration || [])
    .filter((e) => !STANDARD.some(([k]) => k === e.key) && !AUTOMATIC.includes(e.key))
    .map((e) => entryField(e, element));
  const all = [name, tags, ...std, ...own];

  const pending = read(PENDING);
  const restore = opts.restore || (pending && pending.element === element.key ? pending.values : null);
  if (restore) fill(all, restore);

  const form = h('form', { class: 'panel', novalidate: true },
    h('p', {}, element.description || ''),
    name.wrap, tags.wrap,
    h('fieldset', {}, h('legend', {}, 'Events and your app at the provider'), std.map((f) => f.wrap),
      h('p', { class: 'hint' }, `Register this redirect URI with your ${element.name} app (it is also the instance's oauth.callback.url): `,
        h('code', {}, redirectUri()))),
    own.length ? h('fieldset', {}, h('legend', {}, `${element.name} settings`), own.map((f) => f.wrap)) : null,
    h('div', { class: 'actions' },
      h('button', { type: 'submit' }, 'Next'),
      h('a', { href: `${ROOT}/catalog` }, 'Cancel')));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    next(element, all, note).catch((err) => ctx.failed(err, note.say));
  });
  show(body, form);
  if (opts.error) {
    note.say(opts.error, 'error');
    showApiErrors(opts.error, all);
  }
}

function fill(fields, values) {
  for (const f of fields) {
    let v;
    if (f.name === 'name') v = values.name;
    else if (f.name === 'tags') v = (values.tags || []).join(', ');
    else v = (values.configuration || {})[f.name];
    if (v === undefined || v === null) continue;
    if (f.control.type === 'checkbox') f.control.checked = v === true || v === 'true';
    else f.control.value = String(v);
  }
}

function collect(element, fields) {
  const configuration = {};
  let name = '';
  let tags = [];
  for (const f of fields) {
    if (f.name === 'name') name = f.control.value.trim();
    else if (f.name === 'tags') tags = f.control.value.split(',').map((t) => t.trim()).filter(Boolean);
    else if (f.control.type === 'checkbox') configuration[f.name] = f.control.checked;
    else {
      const v = entryValue(f);
      if (v !== undefined) configuration[f.name] = v;
    }
  }
  if (element.typeOauth) configuration['oauth.callback.url'] = redirectUri();
  return { name, tags, configuration };
}

/** Checks the form, parks it, and sends the browser to the provider's authorize page. */
async function next(element, fields, note) {
  fields.forEach((f) => fieldError(f, null));
  note.say(null);
  const values = collect(element, fields);
  const problems = entryProblems(fields.filter((f) => f.entry));
  const get = (n) => fields.find((f) => f.name === n);
  if (!values.name) problems.unshift([get('name'), 'Enter a name.']);
  if (values.configuration['event.notification.enabled'] && !values.configuration['event.notification.callback.url']) {
    problems.push([get('event.notification.callback.url'), 'Required when event notifications are on.']);
  }
  if (problems.length) {
    problems.forEach(([f, m]) => fieldError(f, m));
    note.say('Some fields need attention.', 'error');
    problems[0][0].control.focus();
    return;
  }
  if (!element.typeOauth) {
    note.say(`${element.name} does not use OAuth; the console creates OAuth elements only.`, 'error');
    return;
  }
  const state = randomState();
  sessionStorage.setItem(PENDING, JSON.stringify({ state, element: element.key, values }));
  const scopeEntry = (element.configuration || []).find((e) => e.key === 'oauth.scope');
  const scope = values.configuration['oauth.scope'] || (scopeEntry && scopeEntry.default) || '';
  note.say(`Opening ${element.name}…`);
  // The secret stays out of the URL: the authorize URL does not need it.
  const { data } = await open(`/elements/${encodeURIComponent(element.key)}/oauth/url${query({
    apiKey: values.configuration['oauth.api.key'],
    callbackUrl: redirectUri(),
    state,
    scope,
  })}`);
  const target = new URL(data.oauthUrl);
  if (target.protocol !== 'https:' && target.protocol !== 'http:') {
    throw new ApiError(0, `Refusing to open an authorize URL that is not http(s): ${target.protocol}`);
  }
  location.assign(target.href);
}

let callbackParams = null;

/** Reads the provider's answer and removes it from the address bar (the code is single-use). */
export function takeCallbackParams() {
  if (location.pathname.replace(/\/$/, '') !== CALLBACK_PATH) return;
  const q = new URLSearchParams(location.search);
  callbackParams = {};
  for (const k of ['code', 'state', 'error', 'error_description', 'realmId']) {
    if (q.has(k)) callbackParams[k] = q.get(k);
  }
  if (location.search) history.replaceState(null, '', CALLBACK_PATH);
}

/** Back from the provider: create the instance, or show why not over the restored form. */
export async function callbackView(ctx) {
  document.title = 'Creating the instance · Herald console';
  const params = callbackParams || {};
  callbackParams = null;
  const note = notice();
  show(ctx.main, h('h1', { tabindex: '-1' }, 'Creating the instance'), note.el);
  const pending = read(PENDING);
  const back = h('p', {}, h('a', { href: `${ROOT}/catalog` }, 'Choose an element'));
  if (!params.code && !params.error) {
    note.say('There is no answer from a provider to finish here.', 'error');
    ctx.main.append(back);
    return;
  }
  if (!pending || pending.state !== params.state) {
    note.say('This answer does not belong to an instance creation started in this tab (its state does not match), so nothing was created.', 'error');
    ctx.main.append(back);
    return;
  }
  const retry = (message) => {
    history.replaceState(null, '', `${ROOT}/catalog/${encodeURIComponent(pending.element)}/new`);
    return createView(ctx, pending.element, { restore: pending.values, error: message });
  };
  if (params.error) {
    const why = params.error_description ? ` (${params.error_description})` : '';
    return retry(`The provider did not grant access: ${params.error}${why}. Nothing was created.`);
  }
  note.say('Creating the instance…');
  const providerData = { code: params.code };
  if (params.realmId) providerData.realmId = params.realmId;
  const v = pending.values;
  let instance;
  try {
    instance = (await call('POST', '/instances', {
      element: { key: pending.element },
      providerData,
      configuration: v.configuration,
      tags: v.tags,
      name: v.name,
    })).data;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return ctx.failed(err, note.say);
    return retry(err.message);
  }
  sessionStorage.removeItem(PENDING);
  ctx.navigate(`/instances/${instance.id}`, {
    replace: true,
    message: { message: `Instance “${instance.name}” created.` },
  });
}
