// Instances: the list (element, name, valid, events on/off, last poll and error for polling
// instances) and one instance's page: what it is, Enable/Disable, Delete, Poll now, its events,
// and its configuration (changed with PATCH).

import { call, getJson, open } from './api.js';
import { ROOT, facts, field, fieldError, h, notice, show, table } from './dom.js';
import { entryField, entryValue, showApiErrors } from './create.js';
import { eventsPanel } from './events.js';

function polls(instance) {
  return (instance.configuration || {})['event.vendor.type'] === 'polling';
}

/** The instances, each polling one with its poll status (`polling`, from its own record). */
async function loadInstances() {
  const list = await getJson('/instances');
  const detailed = await Promise.all(list.map((i) => (polls(i)
    ? getJson(`/instances/${i.id}`).catch(() => i)
    : i)));
  return detailed.sort((a, b) => b.id - a.id);
}

const state = (i) => (i.disabled ? 'Disabled' : 'Enabled');

/** Whether the instance is valid, with the reason when it is not. */
const validity = (i) => (i.valid ? 'Yes' : `No${i.invalidReason ? `: ${i.invalidReason}` : ''}`);

export async function instancesView(ctx) {
  document.title = 'Instances · Herald console';
  const note = notice();
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  show(ctx.main, h('h1', { tabindex: '-1' }, 'Instances'), note.el, body);
  if (ctx.flash) note.say(ctx.flash.message, ctx.flash.kind);
  let last = null;
  await ctx.every(async () => {
    let list;
    try {
      list = await loadInstances();
    } catch (err) {
      ctx.failed(err, note.say);
      return;
    }
    const seen = JSON.stringify(list);
    if (ctx.signal.aborted || seen === last) return;
    last = seen;
    if (!list.length) {
      show(body, h('p', {}, 'No instances yet. ', h('a', { href: `${ROOT}/catalog` }, 'Choose an element'), ' to create one.'));
      return;
    }
    show(body, table('Your instances', ['Name', 'Element', 'Valid', 'Events', 'State', 'Last poll', 'Last error'],
      list.map((i) => [
        h('a', { href: `${ROOT}/instances/${i.id}` }, i.name),
        (i.element && i.element.name) || '',
        validity(i),
        i.eventsEnabled ? 'On' : 'Off',
        state(i),
        polls(i) ? ((i.polling && i.polling.lastPoll) || 'Not yet') : null,
        polls(i) ? ((i.polling && i.polling.lastError) || 'None') : null,
      ])));
  });
}

function summary(i) {
  const p = i.polling || (polls(i) ? {} : null);
  const c = i.configuration || {};
  return facts([
    ['Id', String(i.id)],
    ['Element', (i.element && i.element.name) || ''],
    ['Valid', validity(i)],
    ['State', state(i)],
    ['Event notifications', i.eventsEnabled ? 'On' : 'Off'],
    ['Callback URL', c['event.notification.callback.url'] || ''],
    ['Events come by', c['event.vendor.type'] || ''],
    ['Tags', (i.tags || []).join(', ')],
    ['Created', i.createdDate || ''],
    p && ['Last poll', p.lastPoll || 'Not yet'],
    p && ['Last successful poll', p.lastSuccess || ''],
    p && ['Last poll error', p.lastError || 'None'],
    p && ['Consecutive failed polls', String(p.consecutiveFailures ?? 0)],
    p && ['Next poll', p.nextPoll || ''],
  ]);
}

export async function instanceView(ctx, id) {
  document.title = `Instance ${id} · Herald console`;
  const note = notice();
  const heading = h('h1', { tabindex: '-1' }, `Instance ${id}`);
  const facts_ = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  show(ctx.main, heading, note.el, facts_);
  if (ctx.flash) note.say(ctx.flash.message, ctx.flash.kind);
  let instance;
  try {
    instance = await getJson(`/instances/${id}`);
  } catch (err) {
    ctx.failed(err, note.say);
    return;
  }
  if (ctx.signal.aborted) return;

  const toggle = h('button', { type: 'button' });
  const poll = h('button', { type: 'button', hidden: true }, 'Poll now');
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete');
  let last = null;
  const draw = (i) => {
    instance = i;
    heading.textContent = i.name;
    document.title = `${i.name} · Herald console`;
    toggle.textContent = i.disabled ? 'Enable' : 'Disable';
    poll.hidden = !(polls(i) || i.polling);
    const seen = JSON.stringify(i);
    if (seen !== last) show(facts_, summary(i));
    last = seen;
  };
  draw(instance);

  toggle.addEventListener('click', async () => {
    const enable = instance.disabled;
    try {
      const { data } = await call(enable ? 'PUT' : 'DELETE', `/instances/${instance.id}/enabled`);
      draw({ ...data, polling: instance.polling });
      note.say(enable ? 'Instance enabled.' : 'Instance disabled: it takes no hub calls and produces no events.');
    } catch (err) {
      ctx.failed(err, note.say);
    }
  });
  del.addEventListener('click', async () => {
    // A native dialog: keyboard and screen-reader users get the platform's own confirmation.
    // eslint-disable-next-line no-alert
    if (!window.confirm(`Delete the instance “${instance.name}”? Herald stops its events, removes the provider webhooks it created and forgets its tokens.`)) return;
    try {
      await call('DELETE', `/instances/${instance.id}`);
      ctx.navigate('/instances', { message: { message: `Instance “${instance.name}” deleted.` } });
    } catch (err) {
      ctx.failed(err, note.say);
    }
  });
  poll.addEventListener('click', async () => {
    try {
      await call('POST', `/instances/${instance.id}/events/poll`);
      note.say('Poll queued: new events show up below.');
    } catch (err) {
      ctx.failed(err, note.say);
    }
  });

  const element = await open(`/elements/${encodeURIComponent(instance.element.key)}`).then((r) => r.data).catch(() => null);
  if (ctx.signal.aborted) return;
  ctx.main.append(
    h('div', { class: 'actions' }, toggle, poll, del),
    h('section', { 'aria-labelledby': 'inst-events' }, h('h2', { id: 'inst-events' }, 'Events'),
      eventsPanel(ctx, { instance })),
    element ? editForm(ctx, instance, element, draw) : null,
  );
  ctx.every(async () => {
    try {
      draw(await getJson(`/instances/${id}`));
    } catch (err) {
      ctx.failed(err, note.say);
    }
  });
}

/** Name, tags and every configuration entry; only what changed is sent. */
function editForm(ctx, instance, element, draw) {
  const note = notice();
  const c = instance.configuration || {};
  const name = field({ label: 'Name', name: 'name', value: instance.name });
  const tags = field({ label: 'Tags', name: 'tags', value: (instance.tags || []).join(', '), hint: 'Separated by commas.' });
  const entries = (element.configuration || []).map((e) => entryField(e, element, c[e.key], true));
  const initial = new Map(entries.map((f) => [f.name, entryValue(f)]));
  const form = h('form', { class: 'panel', novalidate: true },
    name.wrap, tags.wrap, entries.map((f) => f.wrap), note.el,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save changes')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    [name, tags, ...entries].forEach((f) => fieldError(f, null));
    const configuration = {};
    for (const f of entries) {
      const v = entryValue(f);
      if (f.entry.secret && v === undefined) continue;
      if (v !== initial.get(f.name)) configuration[f.name] = v === undefined ? '' : v;
    }
    const body = { configuration };
    if (name.control.value.trim() && name.control.value.trim() !== instance.name) body.name = name.control.value.trim();
    const t = tags.control.value.split(',').map((x) => x.trim()).filter(Boolean);
    if (t.join(',') !== (instance.tags || []).join(',')) body.tags = t;
    try {
      const { data } = await call('PATCH', `/instances/${instance.id}`, body);
      draw({ ...data, polling: instance.polling });
      entries.forEach((f) => { if (f.entry.secret) f.control.value = ''; initial.set(f.name, entryValue(f)); });
      note.say('Saved.');
    } catch (err) {
      if (err.status === 401) return ctx.failed(err, note.say);
      note.say(err.message, 'error');
      showApiErrors(err.message, [name, tags, ...entries]);
    }
    return undefined;
  });
  return h('section', { 'aria-labelledby': 'inst-config' }, h('h2', { id: 'inst-config' }, 'Configuration'), form);
}
