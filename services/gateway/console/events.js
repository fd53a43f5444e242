// Events: the notifications of all instances or of one, filtered by status and date range and
// paged as the API pages them (`Elements-Next-Page-Token`), refreshing by themselves; Replay on
// an instance's list; one notification's page with the provider's body, the notification sent,
// every attempt, and Retry.

import { call, getJson, query } from './api.js';
import { ROOT, facts, field, fieldError, h, notice, pretty, show, table, uid } from './dom.js';

const PAGE_SIZE = 25;
const STATUSES = ['RECEIVED', 'DISPATCHED', 'NOTIFIED', 'RETRYING', 'FAILED'];

/** A typed date as the API wants it (RFC 3339, UTC); '' for none; null if it is no date. */
function apiDate(raw) {
  const v = raw.trim();
  if (!v) return '';
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d.toISOString();
}

/** An event's status as a badge (its colour from the status). */
function statusBadge(status) {
  return h('span', { class: `status s-${String(status).toLowerCase()}` }, status);
}

/**
 * What the receiver answered an attempt: its status code (`HTTP 200` within a sentence), or
 * that it did not answer.
 */
function answer(a, inSentence = false) {
  if (a.statusCode === null || a.statusCode === undefined) return inSentence ? 'no answer' : 'No answer';
  return inSentence ? `HTTP ${a.statusCode}` : String(a.statusCode);
}

function lastAttempt(a) {
  if (!a) return '';
  const parts = [answer(a, true)];
  if (a.durationMs !== undefined) parts.push(`${a.durationMs} ms`);
  if (a.error) parts.push(a.error);
  return `${parts.join(', ')} (${a.date})`;
}

function note_(e) {
  if (e.status === 'RETRYING' && e.nextAttempt) return `Next attempt ${e.nextAttempt}`;
  if (e.status === 'FAILED' && e.failureReason) return e.failureReason;
  return '';
}

/**
 * The list with its filters. `instance`: one instance's events (with Replay); otherwise all,
 * with an instance filter over `instances` (Replay once one is chosen).
 */
export function eventsPanel(ctx, { instance = null, instances = [] } = {}) {
  const note = notice();
  const status = field({
    label: 'Status', kind: 'select', value: '',
    options: [['', 'Any status'], ...STATUSES.map((s) => [s, s])],
  });
  const which = instance ? null : field({
    label: 'Instance', kind: 'select', value: '',
    options: [['', 'All instances'], ...instances.map((i) => [String(i.id), `${i.name} (${i.id})`])],
  });
  const from = field({ label: 'From', hint: 'Inclusive.' });
  const to = field({ label: 'To', hint: 'Exclusive; empty: now.' });
  const dateHint = h('p', { class: 'hint' },
    'Dates: RFC 3339 (2026-11-22T14:05:03Z) or a local date and time (2026-11-22 14:05).');
  const replay = h('button', { type: 'button' }, 'Replay');
  const replayHint = h('p', { class: 'hint', id: uid('replay') },
    'Replay sends the instance\'s notifications dated in [From, To) once more, each with its original body and ids and the header Elements-Replay: true. Empty From: since the instance was created.');
  replay.setAttribute('aria-describedby', replayHint.id);
  const list = h('div', { class: 'list' }, h('p', { class: 'muted' }, 'Loading…'));
  const prev = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Previous page');
  const next = h('button', { type: 'button', class: 'secondary', disabled: true }, 'Next page');
  const pageLabel = h('span', { class: 'muted' }, 'Page 1');

  /** Page tokens: [''] is the first page; `at` indexes the page shown. */
  let pages = [''];
  let at = 0;
  let nextToken = null;
  let last = null;
  let filter = { status: '', from: '', to: '', instance: instance ? String(instance.id) : '' };
  const replayable = () => Boolean(filter.instance || (which && which.control.value));

  async function load() {
    const path = filter.instance ? `/instances/${filter.instance}/events` : '/instances/events';
    let resp;
    try {
      resp = await call('GET', path + query({
        status: filter.status, from: filter.from, to: filter.to, pageSize: PAGE_SIZE, nextPage: pages[at],
      }));
    } catch (err) {
      ctx.failed(err, note.say);
      return;
    }
    if (ctx.signal.aborted) return;
    nextToken = resp.headers.get('Elements-Next-Page-Token');
    next.disabled = !nextToken;
    prev.disabled = at === 0;
    pageLabel.textContent = `Page ${at + 1}`;
    const seen = JSON.stringify(resp.data);
    if (seen === last) return;
    last = seen;
    const items = resp.data || [];
    if (!items.length) {
      show(list, h('p', {}, at === 0 ? 'No events match.' : 'No more events.'));
      return;
    }
    const cols = ['Id', 'Status', 'Event date', ...(instance ? [] : ['Instance']), 'Attempts', 'Last attempt', 'Notes'];
    show(list, table(instance ? 'This instance\'s events, newest first' : 'Events, newest first', cols, items.map((e) => [
      h('a', { href: `${ROOT}/events/${e.id}` }, String(e.id)),
      statusBadge(e.status),
      e.eventDate,
      ...(instance ? [] : [h('a', { href: `${ROOT}/instances/${e.instanceId}` }, nameOf(instances, e.instanceId))]),
      String(e.attempts ?? 0),
      lastAttempt(e.lastAttempt),
      note_(e),
    ])));
  }

  const form = h('form', { class: 'filters', novalidate: true },
    status.wrap, which && which.wrap, from.wrap, to.wrap,
    dateHint,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'secondary' }, 'Filter'), replay),
    replayHint);
  replay.hidden = !replayable();
  replayHint.hidden = replay.hidden;
  if (which) {
    which.control.addEventListener('change', () => {
      replay.hidden = !which.control.value;
      replayHint.hidden = replay.hidden;
    });
  }

  /** Reads the filter fields; false (with the errors shown) if a date is not one. */
  function readFilter() {
    fieldError(from, null);
    fieldError(to, null);
    const f = apiDate(from.control.value);
    const t = apiDate(to.control.value);
    if (f === null) fieldError(from, 'Not a date.');
    if (t === null) fieldError(to, 'Not a date.');
    if (f === null || t === null) return null;
    return {
      status: status.control.value,
      from: f,
      to: t,
      instance: instance ? String(instance.id) : which.control.value,
    };
  }

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const f = readFilter();
    if (!f) return;
    filter = f;
    pages = [''];
    at = 0;
    last = null;
    note.say(null);
    load();
  });
  prev.addEventListener('click', () => {
    if (at > 0) at -= 1;
    last = null;
    load();
  });
  next.addEventListener('click', () => {
    if (!nextToken) return;
    pages = pages.slice(0, at + 1);
    pages.push(nextToken);
    at += 1;
    last = null;
    load();
  });
  replay.addEventListener('click', async () => {
    const f = readFilter();
    if (!f || !f.instance) return;
    const target = instance || instances.find((i) => String(i.id) === f.instance);
    const body = { from: f.from || (target && target.createdDate) || '1970-01-01T00:00:00Z' };
    if (f.to) body.to = f.to;
    try {
      const { data } = await call('POST', `/instances/${f.instance}/events/replay`, body);
      const n = data && typeof data.replayed === 'number' ? data.replayed : 0;
      note.say(`Replay queued: ${n} notification${n === 1 ? '' : 's'} will be sent again.`);
    } catch (err) {
      ctx.failed(err, note.say);
    }
  });

  ctx.every(load);
  return h('div', { class: 'events' }, form, note.el, list,
    h('div', { class: 'pager' }, prev, pageLabel, next));
}

function nameOf(instances, id) {
  const i = instances.find((x) => x.id === id);
  return i ? i.name : `Instance ${id}`;
}

export async function eventsView(ctx) {
  document.title = 'Events · Herald console';
  const body = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const note = notice();
  show(ctx.main, h('h1', { tabindex: '-1' }, 'Events'), note.el, body);
  let instances = [];
  try {
    instances = await getJson('/instances');
  } catch (err) {
    ctx.failed(err, note.say);
    return;
  }
  if (ctx.signal.aborted) return;
  show(body, eventsPanel(ctx, { instances }));
}

function attemptsTable(attempts) {
  if (!attempts || !attempts.length) return h('p', {}, 'No attempt yet.');
  return table('Every delivery attempt, oldest first', ['#', 'Date', 'Status code', 'Duration', 'Error'],
    attempts.map((a, n) => [
      String(n + 1),
      a.date,
      answer(a),
      `${a.durationMs} ms`,
      a.error || '',
    ]));
}

function bodyBlock(title, value) {
  const id = uid('body');
  return h('section', { 'aria-labelledby': id },
    h('h2', { id }, title),
    h('pre', { class: 'body', tabindex: '0', 'aria-labelledby': id }, value === null || value === undefined ? '(none)' : pretty(value)));
}

export async function eventView(ctx, id) {
  document.title = `Event ${id} · Herald console`;
  const note = notice();
  const retry = h('button', { type: 'button' }, 'Retry');
  const summary = h('div', {}, h('p', { class: 'muted' }, 'Loading…'));
  const detail = h('div', {});
  show(ctx.main, h('h1', { tabindex: '-1' }, `Event ${id}`), note.el, summary,
    h('div', { class: 'actions' }, retry), detail);
  if (ctx.flash) note.say(ctx.flash.message, ctx.flash.kind);
  const names = new Map();
  let last = null;
  const load = async () => {
    let e;
    try {
      e = await getJson(`/instances/events/${id}`);
      if (!names.has(e.instanceId)) {
        const i = await getJson(`/instances/${e.instanceId}`).catch(() => null);
        names.set(e.instanceId, i ? i.name : `Instance ${e.instanceId}`);
      }
    } catch (err) {
      ctx.failed(err, note.say);
      return;
    }
    const seen = JSON.stringify(e);
    if (ctx.signal.aborted || seen === last) return;
    last = seen;
    show(summary, facts([
      ['Status', statusBadge(e.status)],
      ['Instance', h('a', { href: `${ROOT}/instances/${e.instanceId}` }, names.get(e.instanceId))],
      ['Element', e.elementKey],
      ['Event date', e.eventDate],
      ['Notification id', String(e.notificationId ?? '')],
      ['Attempts', String(e.attempts ?? 0)],
      e.nextAttempt && ['Next attempt', e.nextAttempt],
      e.failureReason && ['Failure reason', e.failureReason],
    ]));
    show(detail,
      bodyBlock('Provider body', e.providerData),
      bodyBlock('Notification sent', e.notifiedData),
      h('section', { 'aria-labelledby': 'attempts-h' }, h('h2', { id: 'attempts-h' }, 'Attempts'), attemptsTable(e.deliveryAttempts)));
  };
  retry.addEventListener('click', async () => {
    try {
      await call('POST', `/instances/events/${id}/retry`);
      note.say('Retry queued: the notification is being sent once more, with the same ids.');
      await load();
    } catch (err) {
      ctx.failed(err, note.say);
    }
  });
  await ctx.every(load);
}
