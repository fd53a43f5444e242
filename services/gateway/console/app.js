// The console's shell: sign-in, the navigation, and a small router over real paths under
// /console (the gateway answers the page for each of them, so links, reloads and the OAuth
// redirect back to /console/oauth/callback all land here).

import { ApiError, signIn, signOut, signedIn } from './api.js';
import { ROOT, field, fieldError, h, notice, show } from './dom.js';
import { catalogView } from './catalog.js';
import { callbackView, createView, takeCallbackParams } from './create.js';
import { instanceView, instancesView } from './instances.js';
import { eventView, eventsView } from './events.js';

const routes = [
  [/^\/catalog$/, catalogView],
  [/^\/catalog\/([a-z0-9_-]+)\/new$/i, createView],
  [/^\/oauth\/callback$/, callbackView],
  [/^\/instances$/, instancesView],
  [/^\/instances\/(\d+)$/, instanceView],
  [/^\/events$/, eventsView],
  [/^\/events\/(\d+)$/, eventView],
];

/** Lists and pages refresh by themselves at this pace. */
const REFRESH_MS = 3000;

/** Ends with the view: its timers stop, its in-flight answers are ignored. */
let current = new AbortController();
/** A message the next view shows once (e.g. "created" after the OAuth round trip). */
let flash = null;

/** What a view gets: where to draw, how to move on, and its lifetime. */
function context(path) {
  const signal = current.signal;
  return {
    main: document.getElementById('main'),
    path,
    signal,
    navigate,
    flash: takeFlash(),
    /** Runs `fn` now and every REFRESH_MS until the view ends; one run at a time. */
    every(fn) {
      let busy = false;
      const tick = async () => {
        if (busy || signal.aborted || document.hidden) return;
        busy = true;
        try {
          await fn();
        } finally {
          busy = false;
        }
      };
      const timer = setInterval(tick, REFRESH_MS);
      signal.addEventListener('abort', () => clearInterval(timer));
      return tick();
    },
    /** A failed call: a 401 means the secrets are no longer good, so sign in again. */
    failed(err, say) {
      if (signal.aborted) return;
      if (err instanceof ApiError && err.status === 401) {
        signOut();
        flash = { message: 'The API no longer accepts these secrets; sign in again.', kind: 'error' };
        render();
        return;
      }
      say(err.message || String(err), 'error');
    },
  };
}

function takeFlash() {
  const f = flash;
  flash = null;
  return f;
}

function navigate(to, { replace = false, message = null } = {}) {
  if (message) flash = message;
  const url = to.startsWith(ROOT) ? to : ROOT + to;
  if (replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  render();
  // Keyboard and screen-reader users land on the new page's heading, not on the old link.
  const heading = document.querySelector('#main h1');
  if (heading && !document.getElementById('main').contains(document.activeElement)) {
    heading.focus({ preventScroll: true });
  }
}

function drawNav() {
  const nav = document.getElementById('nav');
  if (!signedIn()) {
    nav.hidden = true;
    show(nav);
    return;
  }
  const here = location.pathname.slice(ROOT.length);
  const link = (href, text) => h('a', {
    href: ROOT + href,
    'aria-current': here === href || here.startsWith(`${href}/`) ? 'page' : null,
  }, text);
  show(nav,
    h('ul', {},
      h('li', {}, link('/catalog', 'Catalog')),
      h('li', {}, link('/instances', 'Instances')),
      h('li', {}, link('/events', 'Events')),
      h('li', {}, h('button', {
        type: 'button',
        class: 'link',
        on: { click: () => { signOut(); flash = { message: 'Signed out.' }; navigate('/', { replace: true }); } },
      }, 'Sign out'))));
  nav.hidden = false;
}

function signInView(ctx, then) {
  document.title = 'Sign in · Herald console';
  const user = field({ label: 'User secret', name: 'user', kind: 'secret', autocomplete: 'off' });
  const org = field({ label: 'Organization secret', name: 'org', kind: 'secret', autocomplete: 'off' });
  const note = notice();
  const form = h('form', {
    class: 'panel narrow',
    novalidate: true,
    on: {
      submit: async (e) => {
        e.preventDefault();
        fieldError(user, user.control.value.trim() ? null : 'Enter your user secret.');
        fieldError(org, org.control.value.trim() ? null : 'Enter your organization secret.');
        if (!user.control.value.trim()) return user.control.focus();
        if (!org.control.value.trim()) return org.control.focus();
        note.say('Signing in…');
        try {
          await signIn(user.control.value, org.control.value);
          then();
        } catch (err) {
          note.say(err.message, 'error');
        }
      },
    },
  },
  h('p', {}, 'Sign in with the secrets your operator gave you. They stay in this tab only and are forgotten when you sign out or close it.'),
  user.wrap, org.wrap, note.el,
  h('button', { type: 'submit' }, 'Sign in'));
  show(ctx.main, h('h1', { tabindex: '-1' }, 'Sign in'), form);
  if (ctx.flash) note.say(ctx.flash.message, ctx.flash.kind);
  user.control.focus();
}

function notFound(ctx) {
  document.title = 'Not found · Herald console';
  show(ctx.main, h('h1', { tabindex: '-1' }, 'Not found'),
    h('p', {}, 'The console has no page at this address. ', h('a', { href: `${ROOT}/catalog` }, 'Choose an element'), '.'));
}

function render() {
  current.abort();
  current = new AbortController();
  const path = location.pathname.slice(ROOT.length).replace(/\/$/, '') || '/';
  const ctx = context(path);
  drawNav();
  if (!signedIn()) {
    signInView(ctx, () => render());
    return;
  }
  if (path === '/') {
    navigate('/catalog', { replace: true, message: ctx.flash });
    return;
  }
  const found = routes.map(([re, view]) => [path.match(re), view]).find(([m]) => m);
  if (!found) {
    notFound(ctx);
  } else {
    const [m, view] = found;
    Promise.resolve(view(ctx, ...m.slice(1))).catch((err) => {
      show(ctx.main, h('h1', { tabindex: '-1' }, 'Something went wrong'), h('p', { role: 'alert' }, err.message || String(err)));
    });
  }
}

/** Same-origin links under /console move within the app instead of reloading it. */
document.addEventListener('click', (e) => {
  if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || a.target || a.hasAttribute('download')) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin || !url.pathname.startsWith(ROOT) || url.hash) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

window.addEventListener('popstate', () => render());

// The provider's code must leave the address bar (and history) before anything else runs.
takeCallbackParams();
render();
