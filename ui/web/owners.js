// The owner page, /owners/<id>: what a person or team owns and how healthy it is.

import { api } from './api.js';
import { h, clear, assetHref, healthBadge, kindBadge, announce } from './dom.js';

export function mountOwner(view, id) {
  const controller = new AbortController();
  clear(view).append(h('p', { class: 'muted' }, 'Loading…'));
  (async () => {
    let o;
    try {
      o = await api('/api/v1/owners/' + encodeURIComponent(id), { signal: controller.signal });
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(view).append(h('h1', {}, 'Owner'), h('p', { class: 'error' }, e.status === 404
        ? `No owner “${id}” is recorded. Owners come from dbt meta (owner, team) and group definitions.`
        : `${e.message}. Reload to retry.`));
      return;
    }
    document.title = `${o.name || o.id} · Tidemark`;
    const counts = { incident: 0, anomaly: 0, healthy: 0 };
    for (const a of o.assets) counts[a.health.status] = (counts[a.health.status] || 0) + 1;
    const sorted = [...o.assets].sort((x, y) =>
      rank(x.health.status) - rank(y.health.status) || x.name.localeCompare(y.name));
    clear(view).append(
      h('section', { class: 'asset-head' },
        h('div', { class: 'title-row' }, h('h1', {}, o.name || o.id), h('span', { class: 'badge kind' }, o.kind)),
        h('p', { class: 'muted' }, [o.id, o.email, o.channel].filter(Boolean).join(' · ')),
        h('p', { class: 'summary' }, `${o.asset_count} assets: `,
          h('span', { class: 'badge health-incident' }, `${counts.incident} with an open incident`), ' ',
          h('span', { class: 'badge health-anomaly' }, `${counts.anomaly} with anomalies`), ' ',
          h('span', { class: 'badge health-healthy' }, `${counts.healthy} healthy`))),
      h('section', { class: 'card', 'aria-labelledby': 'owned-h' }, h('h2', { id: 'owned-h' }, 'Owned assets'),
        sorted.length === 0 ? h('p', { class: 'muted' }, 'Owns nothing yet.')
          : h('div', { class: 'table-wrap' }, h('table', {},
            h('thead', {}, h('tr', {}, ['Asset', 'Kind', 'Role', 'Health'].map((t) => h('th', { scope: 'col' }, t)))),
            h('tbody', {}, sorted.map((a) => h('tr', {},
              h('th', { scope: 'row' }, h('a', { href: assetHref(a.key), 'data-nav': true }, a.name || a.key)),
              h('td', {}, kindBadge(a.kind)), h('td', {}, a.role || ''),
              h('td', {}, healthBadge(a.health)))))))));
    announce(`${o.name || o.id} owns ${o.asset_count} assets`);
  })();
  return () => controller.abort();
}

function rank(status) { return { incident: 0, anomaly: 1, healthy: 2 }[status] ?? 3; }
