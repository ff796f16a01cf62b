// The page's entry point: a small client-side router over the server's routes
// (/, /search, /assets/<key>, /incidents, /owners/<id>) and the global keyboard shortcuts.

import { h, clear } from './dom.js';
import { mountSearch, searchMounted, onQueryInput, onQueryKey } from './search.js';

const view = document.getElementById('view');
const input = document.getElementById('q');
let unmount = null;

function navigate(url, { replace = false } = {}) {
  if (replace) history.replaceState(null, '', url); else history.pushState(null, '', url);
  route();
}

// The other views are loaded when first shown: the search page, the one most often opened
// first, then waits for four modules instead of eleven.
const views = {
  asset: () => import('./asset.js'),
  incidents: () => import('./incidents.js'),
  owner: () => import('./owners.js'),
};
let routed = 0;  // which route() call is current; a view that loads late must not replace a newer one

function route() {
  if (unmount) unmount();
  unmount = null;
  const seq = ++routed;
  const path = location.pathname;
  const rest = (prefix) => decodeURIComponent(path.slice(prefix.length));
  const show = (load, mount) => {
    load().then((module) => {
      if (seq !== routed) return;
      unmount = mount(module);
    }).catch((e) => {
      if (seq === routed) failed(e);
    });
  };
  try {
    if (path === '/' || path === '/search') {
      unmount = mountSearch(view, input, navigate);
    } else if (path.startsWith('/assets/')) {
      show(views.asset, (m) => m.mountAsset(view, rest('/assets/'), navigate));
    } else if (path === '/incidents' || path.startsWith('/incidents/')) {
      // /incidents/<id> is the link alerts and reports carry: the list, that incident focused.
      const id = path === '/incidents' ? null : rest('/incidents/');
      show(views.incidents, (m) => m.mountIncidents(view, navigate, id));
    } else if (path.startsWith('/owners/')) {
      show(views.owner, (m) => m.mountOwner(view, rest('/owners/')));
    } else {
      clear(view).append(h('h1', {}, 'Not found'),
                         h('p', {}, 'No page here. ', h('a', { href: '/', 'data-nav': true }, 'Search the catalog')));
    }
  } catch (e) {
    failed(e);
  }
  for (const a of document.querySelectorAll('header nav a')) {
    const here = a.getAttribute('href') === path || (path === '/' && a.getAttribute('href') === '/search');
    if (here) a.setAttribute('aria-current', 'page'); else a.removeAttribute('aria-current');
  }
}

function failed(e) {
  clear(view).append(h('p', { class: 'error' }, `This page could not be drawn: ${e.message}`));
}

// Same-origin links marked data-nav are followed without reloading the page.
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey ||
      event.shiftKey || event.altKey) return;
  const a = event.target.closest && event.target.closest('a[data-nav]');
  if (!a) return;
  const url = new URL(a.href, location.href);
  if (url.origin !== location.origin) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
  view.focus({ preventScroll: true });
  window.scrollTo(0, 0);
});

input.addEventListener('input', () => {
  if (!onQueryInput(input.value)) navigate('/search?q=' + encodeURIComponent(input.value));
});
input.addEventListener('keydown', (event) => { onQueryKey(event); });
document.getElementById('search-form').addEventListener('submit', (event) => {
  event.preventDefault();
  if (!searchMounted()) navigate('/search?q=' + encodeURIComponent(input.value));
});

// "/" focuses the search box from anywhere but a text field.
document.addEventListener('keydown', (event) => {
  if (event.key !== '/' || event.metaKey || event.ctrlKey || event.altKey) return;
  const t = event.target;
  if (t && (t.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(t.tagName))) return;
  event.preventDefault();
  input.focus();
  input.select();
});

window.addEventListener('popstate', route);
route();
