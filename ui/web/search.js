// The search view: /search?q=...&kind=...&owner=... . Results follow the box as you type
// (debounced; a newer keystroke aborts the request in flight), facets narrow them, the URL
// always says what is shown (history.replaceState while typing, pushState on filters).

import { api, query } from './api.js';
import { h, clear, assetHref, ownerHref, healthBadge, kindBadge, highlightWords,
         highlightRanges, announce, formatNumber } from './dom.js';

const FACETS = [
  ['kind', 'Kind'], ['health', 'Health'], ['owner', 'Owner'], ['tag', 'Tag'],
  ['database', 'Database'], ['schema', 'Schema'], ['source', 'Source system'],
];
const FILTERS = FACETS.map(([name]) => name).concat(['status']);
const DEBOUNCE_MS = 40;

let state = null;  // the mounted view's state, null when another view is shown

function paramsFromUrl() {
  const u = new URLSearchParams(location.search);
  const p = { q: u.get('q') || '' };
  for (const f of FILTERS) if (u.get(f)) p[f] = u.get(f);
  return p;
}

function urlFor(params) {
  return '/search' + query(params);
}

export function mountSearch(view, input, navigate) {
  const params = paramsFromUrl();
  input.value = params.q;
  const status = h('p', { class: 'status', id: 'search-status' });
  const facets = h('aside', { class: 'facets', 'aria-label': 'Filters' });
  const chips = h('div', { class: 'chips' });
  const results = h('ol', { class: 'results', id: 'results', role: 'listbox',
                             'aria-label': 'Search results' });
  const body = h('div', { class: 'results-col' }, chips, status, results);
  // On a phone the filters fold away behind one line, so results come first.
  const wide = window.matchMedia('(min-width: 761px)').matches;
  const filters = h('details', { class: 'facets-wrap', open: wide },
                    h('summary', {}, 'Filters'), facets);
  clear(view).append(h('h1', { class: 'visually-hidden' }, 'Search'),
                     h('div', { class: 'search-layout' }, filters, body));
  state = { view, input, navigate, params, status, facets, chips, results, hits: [],
            active: -1, controller: null, timer: 0, seq: 0 };
  input.setAttribute('aria-expanded', 'true');
  run(false);
  return () => {
    if (state && state.controller) state.controller.abort();
    clearTimeout(state && state.timer);
    input.setAttribute('aria-expanded', 'false');
    input.removeAttribute('aria-activedescendant');
    state = null;
  };
}

export function searchMounted() { return state !== null; }

// Called by the app on every input event of the search box.
export function onQueryInput(text) {
  if (!state) return false;
  state.params.q = text;
  clearTimeout(state.timer);
  state.timer = setTimeout(() => run(true), DEBOUNCE_MS);
  return true;
}

// Keyboard navigation of the results from the search box (combobox pattern).
export function onQueryKey(event) {
  if (!state) return false;
  const n = state.hits.length;
  if (event.key === 'ArrowDown' && n > 0) {
    setActive(Math.min(n - 1, state.active + 1));
  } else if (event.key === 'ArrowUp' && n > 0) {
    setActive(Math.max(0, state.active - 1));
  } else if (event.key === 'Enter') {
    const i = state.active >= 0 ? state.active : (n > 0 ? 0 : -1);
    if (i >= 0) state.navigate(assetHref(state.hits[i].key));
  } else if (event.key === 'Escape') {
    setActive(-1);
    return false;
  } else {
    return false;
  }
  event.preventDefault();
  return true;
}

function setActive(i) {
  const items = state.results.querySelectorAll('[role=option]');
  items.forEach((el, j) => el.setAttribute('aria-selected', String(j === i)));
  state.active = i;
  if (i >= 0 && items[i]) {
    state.input.setAttribute('aria-activedescendant', items[i].id);
    items[i].scrollIntoView({ block: 'nearest' });
  } else {
    state.input.removeAttribute('aria-activedescendant');
  }
}

function setFilter(name, value) {
  if (value) state.params[name] = value; else delete state.params[name];
  history.pushState(null, '', urlFor(state.params));
  run(false);
}

// The server names the page's first search in <link id=first-search rel=preload> (web_app.cc),
// so the browser fetches it while it loads the scripts. It is used once, and only when it asks
// for what `url` asks: the same parameters, whatever their order and spelling.
let firstSearch = document.getElementById('first-search');

function preloaded(url) {
  const link = firstSearch;
  firstSearch = null;
  if (!link) return url;
  const params = (u) => [...new URL(u, location.href).searchParams].map(String).sort().join('&');
  return params(link.href) === params(url) ? link.href : url;
}

async function run(typing) {
  if (!state) return;
  const s = state;
  if (typing) history.replaceState(null, '', urlFor(s.params));
  if (s.controller) s.controller.abort();
  const seq = ++s.seq;
  // Words, or filters alone (an owner's or a tag's link lists everything it keeps).
  if (!(s.params.q || '').trim() && !hasFilters(s.params)) {
    renderWelcome(s);
    return;
  }
  s.controller = new AbortController();
  s.view.setAttribute('aria-busy', 'true');
  const t0 = performance.now();
  try {
    const data = await api(preloaded('/api/v1/search' + query({ ...s.params, limit: 25 })),
                           { signal: s.controller.signal });
    if (state !== s || seq !== s.seq) return;
    render(s, data);
    performance.mark('tidemark:results', { detail: { q: s.params.q, ms: performance.now() - t0 } });
  } catch (e) {
    if (e.name === 'AbortError' || state !== s || seq !== s.seq) return;
    renderError(s, e);
  } finally {
    if (state === s && seq === s.seq) s.view.removeAttribute('aria-busy');
  }
}

function render(s, data) {
  s.hits = data.hits || [];
  s.active = -1;
  s.input.removeAttribute('aria-activedescendant');
  renderChips(s);
  renderFacets(s, data.facets || {});
  const words = (s.params.q || '').split(/\s+/).filter((w) => w && !w.startsWith('-'));
  clear(s.results);
  s.hits.forEach((hit, i) => s.results.append(renderHit(hit, i, words)));
  const total = data.total || 0;
  const q = s.params.q;
  let text;
  if (s.hits.length === 0) {
    text = q ? `No assets match “${q}”.` : 'No assets match these filters.';
    s.results.append(h('li', { class: 'empty' },
      h('p', {}, text),
      h('p', { class: 'muted' }, hasFilters(s.params)
        ? 'Remove a filter above, use fewer words, or try a prefix such as ord*.'
        : 'Use fewer words, try a prefix such as ord*, or load metadata with `tidemark ingest dbt target/`.')));
  } else {
    text = `${total}${data.total_exact === false ? '+' : ''} result${total === 1 ? '' : 's'}` +
           (q ? ` for “${q}”` : '');
  }
  s.status.textContent = text + ((data.notes || []).length ? ' · ' + data.notes.join(' · ') : '');
  s.status.classList.remove('error');
  announce(text);
  document.title = q ? `${q} · Tidemark search` : 'Search · Tidemark';
}

// Nothing typed and no filter yet: say what the box searches.
function renderWelcome(s) {
  s.hits = [];
  s.view.removeAttribute('aria-busy');
  renderChips(s);
  clear(s.facets);
  clear(s.results);
  s.status.classList.remove('error');
  s.status.textContent = 'Type to search tables, columns, owners, tags and descriptions.';
  s.results.append(h('li', { class: 'empty' },
    h('p', {}, 'Try a table name (orders), a prefix (ord*), a "quoted phrase", or exclude a word with -staging. ',
      'Press / anywhere to come back to this box; arrows and Enter open a result.'),
    h('p', {}, h('a', { href: '/incidents', 'data-nav': true }, 'See open incidents'))));
  document.title = 'Search · Tidemark';
}

function renderError(s, e) {
  clear(s.results);
  s.hits = [];
  const msg = e.status === 400
    ? `The query could not be read: ${e.message}. Check quotes and operators, then try again.`
    : `Search failed: ${e.message}. Check that the Tidemark server is running, then retry.`;
  s.status.textContent = msg;
  s.status.classList.add('error');
  s.results.append(h('li', { class: 'empty' },
    h('button', { type: 'button', onclick: () => run(false) }, 'Retry')));
  announce(msg);
}

function hasFilters(params) { return FILTERS.some((f) => params[f]); }

function renderChips(s) {
  clear(s.chips);
  for (const f of FILTERS) {
    if (!s.params[f]) continue;
    s.chips.append(h('button', { type: 'button', class: 'chip',
                                 'aria-label': `Remove filter ${f}: ${s.params[f]}`,
                                 onclick: () => setFilter(f, null) },
                     `${f}: ${s.params[f]} ✕`));
  }
}

function renderFacets(s, facets) {
  clear(s.facets);
  for (const [name, label] of FACETS) {
    const counts = facets[name] || [];
    const selected = s.params[name];
    if (counts.length === 0 && !selected) continue;
    const box = h('fieldset', { class: 'facet' }, h('legend', {}, label));
    const shown = counts.slice(0, 8);
    if (selected && !shown.some((c) => c.value === selected)) shown.unshift({ value: selected, count: 0 });
    shown.forEach((c, i) => {
      const id = `facet-${name}-${i}`;
      const cb = h('input', { type: 'checkbox', id, name, value: c.value,
                              checked: c.value === selected,
                              onchange: (ev) => setFilter(name, ev.target.checked ? c.value : null) });
      box.append(h('div', { class: 'facet-row' }, cb,
        h('label', { for: id }, h('span', { class: 'facet-value' }, c.value || '(none)'),
          h('span', { class: 'count', 'aria-label': `${c.count} results` }, String(c.count)))));
    });
    s.facets.append(box);
  }
}

function renderHit(hit, i, words) {
  const owners = (hit.owners || []).map((o) => h('a', { href: ownerHref(o), 'data-nav': true }, o));
  const tags = (hit.tags || []).map((t) => h('span', { class: 'tag' }, t));
  return h('li', { class: 'hit', id: `hit-${i}`, role: 'option', 'aria-selected': 'false' },
    h('div', { class: 'hit-head' },
      h('a', { class: 'hit-name', href: assetHref(hit.key), 'data-nav': true },
        highlightWords(hit.name || hit.key, words)),
      kindBadge(hit.kind), healthBadge(hit.health)),
    h('div', { class: 'hit-full muted' }, highlightWords(hit.full_name || hit.key, words)),
    hit.snippet ? h('p', { class: 'snippet' }, highlightRanges(hit.snippet, hit.highlights)) : null,
    h('div', { class: 'hit-meta' },
      owners.length ? h('span', {}, 'Owners: ', owners.flatMap((o, j) => (j ? [', ', o] : [o]))) : null,
      tags.length ? h('span', { class: 'tags' }, tags) : null,
      hit.downstream ? h('span', { class: 'muted' }, `${formatNumber(hit.downstream)} downstream` +
                                   (hit.exposures ? `, ${hit.exposures} dashboards` : '')) : null,
      hit.source ? h('span', { class: 'muted' }, hit.source) : null));
}
