// The Elements Catalog: every element under its hub, with what it supports, and the way into
// creating an instance of it.

import { hubApis, open } from './api.js';
import { ROOT, h, notice, show, uid } from './dom.js';

function supports(el, apis, hubName) {
  const ev = el.eventsSupported || {};
  const hubApi = apis[el.hub] ? `${hubName} hub API` : null;
  return h('dl', { class: 'facts compact' },
    h('dt', {}, 'Webhooks'), h('dd', {}, ev.webhooks ? 'Yes' : 'No'),
    h('dt', {}, 'Polling'), h('dd', {}, ev.polling ? 'Yes' : 'No'),
    h('dt', {}, 'Hub API'), h('dd', {}, hubApi || 'Not served yet (events only)'));
}

function card(el, apis, hubName) {
  const headingId = uid('el');
  return h('li', {},
    h('article', { class: 'card', 'aria-labelledby': headingId },
      h('h3', { id: headingId }, el.name),
      h('p', { class: 'muted' }, el.description || ''),
      supports(el, apis, hubName),
      h('p', {}, h('a', {
        class: 'button',
        href: `${ROOT}/catalog/${encodeURIComponent(el.key)}/new`,
        'aria-describedby': headingId,
      }, 'Create instance'))));
}

export async function catalogView(ctx) {
  document.title = 'Catalog · Herald console';
  const note = notice();
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading the catalog…'));
  show(ctx.main, h('h1', { tabindex: '-1' }, 'Elements catalog'), note.el, body);
  if (ctx.flash) note.say(ctx.flash.message, ctx.flash.kind);
  let hubs;
  let elements;
  let apis;
  try {
    [hubs, elements, apis] = await Promise.all([
      open('/hubs').then((r) => r.data),
      open('/elements').then((r) => r.data),
      hubApis(),
    ]);
  } catch (err) {
    ctx.failed(err, note.say);
    return;
  }
  if (ctx.signal.aborted) return;
  const byKey = new Map(elements.map((e) => [e.key, e]));
  const filed = new Set();
  const sections = hubs.map((hub) => {
    const members = (hub.elements || []).map((k) => byKey.get(k)).filter(Boolean);
    members.forEach((e) => filed.add(e.key));
    const headingId = uid('hub');
    return h('section', { class: 'hub', 'aria-labelledby': headingId },
      h('h2', { id: headingId }, hub.name),
      h('p', { class: 'muted' }, hub.description || ''),
      h('ul', { class: 'cards' }, members.map((e) => card(e, apis, hub.name))));
  });
  const rest = elements.filter((e) => !filed.has(e.key));
  if (rest.length) {
    sections.push(h('section', { class: 'hub' }, h('h2', {}, 'Other'),
      h('ul', { class: 'cards' }, rest.map((e) => card(e, apis, e.hub)))));
  }
  show(body, sections);
}
