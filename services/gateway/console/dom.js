// Building the page. Every string goes in as a text node or an attribute value, never as markup:
// names, bodies and messages come from tenants and providers and are attacker-controlled.

/** Where the console lives; every page and link of it is under this path. */
export const ROOT = '/console';

let nextId = 0;

/** A fresh element id. */
export function uid(prefix) {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

/**
 * `h('a', {href: '/x', class: 'button'}, 'text', child, [more])`. Attributes are set with
 * setAttribute (or the property for `value`/`checked`), `on` takes `{event: handler}`; strings
 * among the children become text nodes; null and false are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'on') {
      for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    } else if (k === 'value' || k === 'checked') {
      el[k] = v;
    } else {
      el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.append(c);
    else el.append(document.createTextNode(String(c)));
  }
}

/** Replaces what `el` holds. */
export function show(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * A labelled control with an optional hint and a slot for its error, both tied to it with
 * aria-describedby. The label text is exactly `label`: it is the control's accessible name.
 * `kind`: 'text' (default), 'secret', 'url', 'checkbox', 'textarea', or 'select' (`options`:
 * [[value, text]]). A secret is a text field drawn masked (a password field has no textbox
 * role, and browsers offer to store what is typed into one), never autocompleted.
 */
export function field({ label, name, kind = 'text', value = '', hint, options, required, autocomplete }) {
  const id = uid('f');
  const hintId = hint ? `${id}-hint` : null;
  const errorId = `${id}-error`;
  const describedBy = [hintId, errorId].filter(Boolean).join(' ');
  let control;
  if (kind === 'textarea') {
    control = h('textarea', { id, name, rows: 6, spellcheck: 'false', 'aria-describedby': describedBy, value });
  } else if (kind === 'select') {
    control = h('select', { id, name, 'aria-describedby': describedBy },
      (options || []).map(([v, t]) => h('option', { value: v, selected: v === value }, t)));
  } else if (kind === 'checkbox') {
    control = h('input', { id, name, type: 'checkbox', checked: Boolean(value), 'aria-describedby': describedBy });
  } else {
    const secret = kind === 'secret';
    control = h('input', {
      id, name, type: secret ? 'text' : kind, value, 'aria-describedby': describedBy,
      class: secret ? 'secret' : null,
      autocomplete: autocomplete || (secret ? 'off' : null),
      spellcheck: 'false', autocapitalize: 'off', autocorrect: 'off',
    });
  }
  if (required) control.setAttribute('aria-required', 'true');
  const error = h('p', { id: errorId, class: 'field-error', hidden: true });
  const labelEl = h('label', { for: id }, label);
  const wrap = kind === 'checkbox'
    ? h('div', { class: 'field check' }, control, labelEl, hint && h('p', { id: hintId, class: 'hint' }, hint), error)
    : h('div', { class: 'field' }, labelEl, hint && h('p', { id: hintId, class: 'hint' }, hint), control, error);
  return { wrap, control, error, name };
}

/** Shows `message` next to a field (or clears it with null). */
export function fieldError(f, message) {
  if (message) {
    f.error.textContent = message;
    f.error.hidden = false;
    f.control.setAttribute('aria-invalid', 'true');
  } else {
    f.error.textContent = '';
    f.error.hidden = true;
    f.control.removeAttribute('aria-invalid');
  }
}

/** A live region for the outcome of actions; `say` puts a message in it. */
export function notice() {
  const el = h('div', { class: 'notice', role: 'status', 'aria-live': 'polite' });
  el.hidden = true;
  return {
    el,
    say(message, kind = 'ok') {
      el.textContent = message || '';
      el.className = `notice ${kind}`;
      el.hidden = !message;
      if (kind === 'error') el.setAttribute('role', 'alert');
      else el.setAttribute('role', 'status');
    },
  };
}

/** A `<dl>` of [term, value] pairs; values may be nodes. Empty values show a dash. */
export function facts(pairs) {
  return h('dl', { class: 'facts' }, pairs.filter(Boolean).map(([k, v]) => [
    h('dt', {}, k),
    h('dd', {}, v === null || v === undefined || v === '' ? '—' : v),
  ]));
}

/** JSON (or text) for a `<pre>`: pretty-printed, as text. */
export function pretty(v) {
  if (typeof v === 'string') return v;
  return JSON.stringify(v, null, 2);
}

/** A table with a caption, column headers and rows of cells (strings or nodes). */
export function table(caption, columns, rows) {
  // Explicit roles: on a phone the rows are drawn as cards (display: block), which would
  // otherwise cost the table its semantics.
  return h('div', { class: 'table-wrap' },
    h('table', { role: 'table' },
      h('caption', {}, caption),
      h('thead', { role: 'rowgroup' }, h('tr', { role: 'row' }, columns.map((c) => h('th', { scope: 'col', role: 'columnheader' }, c)))),
      h('tbody', { role: 'rowgroup' }, rows.map((r) => h('tr', { role: 'row' },
        r.map((cell, i) => h('td', { role: 'cell', 'data-label': columns[i] }, cell ?? '—')))))));
}
