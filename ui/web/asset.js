// The asset page, /assets/<key>: what it is, who owns it, is it healthy, its columns, its
// freshness and volume, schema changes, recent runs and tests, incidents, and its lineage.

import { api, query } from './api.js';
import { h, clear, ownerHref, healthBadge, kindBadge, formatTime, announce } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { seriesChart, intervalsHours } from './charts.js';
import { lineageSection } from './lineage.js';

const enc = encodeURIComponent;

export function mountAsset(view, key, navigate) {
  const controller = new AbortController();
  let lineage = null;
  clear(view).append(h('p', { class: 'muted' }, 'Loading…'));
  (async () => {
    let a;
    try {
      a = await api('/api/v1/assets/' + enc(key), { signal: controller.signal });
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(view).append(h('h1', {}, e.status === 404 ? 'No such asset' : 'Asset unavailable'),
        h('p', { class: 'error' }, e.status === 404
          ? `Nothing in the catalog is called “${key}”. Search for it by name instead.`
          : `${e.message}. Reload the page to try again.`),
        h('p', {}, h('a', { href: '/search' + query({ q: key.split(/[./]/).pop() }), 'data-nav': true },
                     'Search the catalog')));
      return;
    }
    document.title = `${a.name || a.key} · Tidemark`;
    lineage = lineageSection(a.key, navigate);
    const charts = h('section', { class: 'card', 'aria-labelledby': 'charts-h' },
                     h('h2', { id: 'charts-h' }, 'Freshness and volume'), h('p', { class: 'muted' }, 'Loading…'));
    const schema = h('section', { class: 'card', 'aria-labelledby': 'schema-h' },
                     h('h2', { id: 'schema-h' }, 'Schema history'), h('p', { class: 'muted' }, 'Loading…'));
    const incidents = h('section', { class: 'card', 'aria-labelledby': 'inc-h' },
                        h('h2', { id: 'inc-h' }, 'Incidents'), h('p', { class: 'muted' }, 'Loading…'));
    clear(view).append(header(a), h('div', { class: 'asset-grid' },
      columnsSection(a), charts, lineage.section, schema, runsSection(a), incidents));
    announce(`Asset ${a.name || a.key}`);
    const signal = controller.signal;
    fillCharts(charts, a, signal).catch((e) => failed(charts, e));
    fillSchema(schema, a, signal).catch((e) => failed(schema, e));
    fillIncidents(incidents, a, signal).catch((e) => failed(incidents, e));
  })();
  return () => { controller.abort(); if (lineage) lineage.stop(); };
}

function failed(section, e) {
  if (e.name === 'AbortError') return;
  const old = section.querySelector('.muted');
  if (old) old.remove();
  section.append(h('p', { class: 'error' }, `Could not load: ${e.message}. Reload to retry.`));
}

function header(a) {
  const owners = (a.owners || []).map((o) =>
    h('li', {}, h('a', { href: ownerHref(o.id), 'data-nav': true }, o.name || o.id),
      o.role ? h('span', { class: 'muted' }, ` (${o.role})`) : null));
  const tags = (a.tags || []).map((t) =>
    h('li', {}, h('a', { class: 'tag', href: '/search' + query({ q: t, tag: t }), 'data-nav': true }, t)));
  const fullName = [a.database, a.schema, a.name].filter(Boolean).join('.');
  const desc = a.description ? h('div', { class: 'markdown' }, renderMarkdown(a.description))
                             : h('p', { class: 'muted' }, 'No description yet.');
  return h('section', { class: 'asset-head' },
    h('div', { class: 'title-row' }, h('h1', {}, a.name || a.key), kindBadge(a.kind), healthBadge(a.health),
      a.status && a.status !== 'active' ? h('span', { class: 'badge warn' }, a.status) : null),
    h('p', { class: 'muted break' }, fullName && fullName !== a.name ? fullName + ' · ' : '', a.key),
    a.health && a.health.last_anomaly
      ? h('p', { class: 'health-note' }, `Last anomaly ${formatTime(a.health.last_anomaly_at)}: ${a.health.last_anomaly}`) : null,
    desc,
    h('div', { class: 'meta-row' },
      h('div', {}, h('h2', { class: 'small' }, 'Owners'),
        owners.length ? h('ul', { class: 'inline' }, owners) : h('p', { class: 'muted' }, 'No owner recorded.')),
      h('div', {}, h('h2', { class: 'small' }, 'Tags'),
        tags.length ? h('ul', { class: 'inline' }, tags) : h('p', { class: 'muted' }, 'No tags.')),
      a.source ? h('div', {}, h('h2', { class: 'small' }, 'Source'), h('p', {}, a.source)) : null,
      h('div', {}, h('h2', { class: 'small' }, 'Updated'), h('p', {}, formatTime(a.updated_at)))));
}

function columnsSection(a) {
  const cols = a.columns || [];
  const testsOf = (c) => c.tests || [];
  return h('section', { class: 'card', 'aria-labelledby': 'cols-h' },
    h('h2', { id: 'cols-h' }, `Columns (${cols.length})`),
    cols.length === 0 ? h('p', { class: 'muted' }, 'No columns known: ingest the dbt catalog.json or collect the warehouse.')
      : h('div', { class: 'table-wrap' }, h('table', { class: 'columns' },
        h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Column'), h('th', { scope: 'col' }, 'Type'),
                                   h('th', { scope: 'col' }, 'Description'), h('th', { scope: 'col' }, 'Tests and tags'))),
        h('tbody', {}, cols.map((c) => h('tr', {},
          h('th', { scope: 'row' }, h('code', {}, c.name)),
          h('td', {}, c.type || '—'),
          h('td', {}, c.description ? renderMarkdown(c.description) : ''),
          h('td', {}, [...testsOf(c), ...(c.tags || [])].map((t) => h('span', { class: 'tag' }, t)))))))));
}

// Which stored metrics to chart, most telling first: volume, then freshness.
function pickMetrics(metrics) {
  const score = (m) => (/row_count|rows/.test(m) ? 0 : /fresh|last_modified|loaded|updated/.test(m) ? 1
                        : /bytes|size/.test(m) ? 2 : 3);
  return [...metrics].sort((x, y) => score(x) - score(y) || x.localeCompare(y)).slice(0, 4);
}

async function fillCharts(section, a, signal) {
  const metrics = pickMetrics(a.metrics || []);
  const loaded = await Promise.all(metrics.map((m) =>
    api(`/api/v1/assets/${enc(a.key)}/metrics` + query({ metric: m, limit: 2000 }), { signal })));
  section.querySelector('.muted').remove();
  const grid = h('div', { class: 'charts-grid' });
  if (metrics.length === 0) {
    section.append(h('p', { class: 'muted' },
      'No metrics recorded yet: run `tidemark collect postgres`, push stats to /api/v1/metrics, or ingest dbt source freshness.'));
    return;
  }
  const notes = h('div', {});
  for (const s of loaded) {
    if (s.points.length === 0) continue;
    if (/last_modified|loaded_at|freshness|updated/.test(s.metric)) {
      // Freshness: the hours between consecutive updates, and when the detector found it late.
      const valuesAreTimes = s.points.some(([, v]) => v > 1e9);
      const pts = intervalsHours(s.points, valuesAreTimes);
      const late = s.anomalies.filter((x) => x.detector === 'freshness');
      if (pts.length > 1) {
        grid.append(seriesChart({ title: `Freshness: hours between updates (${s.metric})`, unit: 'hours',
                                  points: pts, anomalies: s.anomalies.filter((x) => x.detector !== 'freshness') }));
      } else {
        const [ts, v] = s.points[s.points.length - 1];
        notes.append(h('p', {}, h('strong', {}, `${s.metric}: `),
          `last changed ${formatTime(valuesAreTimes ? new Date(v * 1000).toISOString() : ts)}`));
      }
      if (late.length) notes.append(h('ul', { class: 'anomaly-list' }, late.slice(0, 5).map((x) =>
        h('li', {}, h('strong', {}, formatTime(x.ts)), ': ', x.explanation))));
      continue;
    }
    grid.append(seriesChart({ title: s.metric, points: s.points, anomalies: s.anomalies }));
  }
  section.append(grid, notes);
}

async function fillSchema(section, a, signal) {
  const data = await api(`/api/v1/assets/${enc(a.key)}/schema`, { signal });
  section.querySelector('.muted').remove();
  const snaps = data.snapshots || [];
  if (snaps.length === 0) {
    section.append(h('p', { class: 'muted' }, 'No schema observed yet.'));
    return;
  }
  const items = [];
  snaps.forEach((s, i) => {
    const changes = [];
    if (i === 0) {
      changes.push(h('li', { class: 'same' }, `first seen with ${s.columns.length} columns`));
    } else {
      const before = new Map(snaps[i - 1].columns.map((c) => [c.name, c]));
      const after = new Map(s.columns.map((c) => [c.name, c]));
      for (const [n, c] of after) {
        if (!before.has(n)) changes.push(h('li', { class: 'added' }, '+ ', h('code', {}, n), ` ${c.type || ''}`));
        else if ((before.get(n).type || '') !== (c.type || '')) {
          changes.push(h('li', { class: 'changed' }, '~ ', h('code', {}, n), ` ${before.get(n).type} → ${c.type}`));
        }
      }
      for (const [n, c] of before) {
        if (!after.has(n)) changes.push(h('li', { class: 'removed' }, '− ', h('code', {}, n), ` ${c.type || ''}`));
      }
      if (changes.length === 0) changes.push(h('li', { class: 'same' }, 'order or nullability changed'));
    }
    items.push(h('li', {}, h('div', { class: 'when' }, formatTime(s.observed_at), h('span', { class: 'muted' }, ` · ${s.source}`)),
      h('ul', { class: 'diff' }, changes)));
  });
  section.append(h('ol', { class: 'timeline', reversed: true }, items.reverse()));
}

function runsSection(a) {
  const runs = a.recent_results || [];
  return h('section', { class: 'card', 'aria-labelledby': 'runs-h' },
    h('h2', { id: 'runs-h' }, 'Recent runs and tests'),
    runs.length === 0 ? h('p', { class: 'muted' }, 'No runs recorded: ingest dbt run_results.json.')
      : h('div', { class: 'table-wrap' }, h('table', {},
        h('thead', {}, h('tr', {}, ['When', 'Node', 'Status', 'Message'].map((t) => h('th', { scope: 'col' }, t)))),
        h('tbody', {}, runs.map((r) => h('tr', {},
          h('td', {}, formatTime(r.completed_at)), h('td', { class: 'break' }, r.node_id),
          h('td', {}, h('span', { class: ['badge', 'run-' + r.status] }, r.status)),
          h('td', {}, r.message || '')))))));
}

async function fillIncidents(section, a, signal) {
  const data = await api('/api/v1/incidents' + query({ limit: 500 }), { signal });
  section.querySelector('.muted').remove();
  const mine = (data.incidents || []).filter((i) => i.root === a.key ||
    (i.properties && Array.isArray(i.properties.assets) && i.properties.assets.includes(a.key)));
  if (mine.length === 0) {
    section.append(h('p', { class: 'muted' }, 'No incident has involved this asset.'));
    return;
  }
  const open = mine.filter((i) => i.state !== 'resolved'), past = mine.filter((i) => i.state === 'resolved');
  const list = (xs) => h('ul', { class: 'incident-list' }, xs.map((i) => h('li', {},
    h('span', { class: ['badge', 'sev-' + i.severity] }, i.severity), ' ',
    h('span', { class: ['badge', 'state-' + i.state] }, i.state), ' ',
    h('a', { href: '/incidents' + query({ state: i.state, id: i.id }), 'data-nav': true }, i.title || i.id),
    h('span', { class: 'muted' }, ` · opened ${formatTime(i.opened_at)}` +
      (i.root !== a.key ? ' · downstream of its root' : '')))));
  if (open.length) section.append(h('h3', {}, `Open (${open.length})`), list(open));
  if (past.length) section.append(h('h3', {}, `Past (${past.length})`), list(past));
}
