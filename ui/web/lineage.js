// The interactive lineage graph of the asset page: a layered left-to-right layout (upstream on
// the left, downstream on the right) drawn in SVG. Big neighbourhoods stay responsive: the API
// is asked for a capped graph, and each layer shows at most LAYER_CAP nodes plus a "+N more"
// node that reveals the next ones. Clicking a node expands its own neighbours.

import { api, query } from './api.js';
import { h, svg, clear, append, assetHref, healthBadge, kindBadge, announce } from './dom.js';

const NODE_W = 190, NODE_H = 40, COL_GAP = 70, ROW_GAP = 14;
const LAYER_CAP = 12, MAX_NODES = 300;

export function lineageSection(rootKey, navigate) {
  const g = {
    root: rootKey, nodes: new Map(), edges: new Map(), layerCap: new Map(),
    selected: rootKey, expanded: new Set(), depth: 2, direction: 'both', columns: false,
    truncated: false,
  };
  const depthSel = h('select', { id: 'lineage-depth', onchange: () => { g.depth = +depthSel.value; reload(); } },
    [1, 2, 3, 4, 5].map((d) => h('option', { value: d, selected: d === g.depth }, String(d))));
  const dirSel = h('select', { id: 'lineage-direction', onchange: () => { g.direction = dirSel.value; reload(); } },
    [['both', 'Both'], ['upstream', 'Upstream'], ['downstream', 'Downstream']]
      .map(([v, l]) => h('option', { value: v }, l)));
  const colBox = h('input', { type: 'checkbox', id: 'lineage-columns',
                              onchange: () => { g.columns = colBox.checked; reload(); } });
  const status = h('p', { class: 'muted', 'aria-live': 'polite' }, 'Loading lineage…');
  const canvas = h('div', { class: 'lineage-canvas', tabindex: '-1' });
  const panel = h('div', { class: 'lineage-panel', 'aria-live': 'polite' });
  const section = h('section', { class: 'card', id: 'lineage', 'aria-labelledby': 'lineage-h' },
    h('h2', { id: 'lineage-h' }, 'Lineage'),
    h('div', { class: 'controls' },
      h('label', { for: 'lineage-depth' }, 'Depth '), depthSel,
      h('label', { for: 'lineage-direction' }, 'Direction '), dirSel,
      h('span', {}, colBox, h('label', { for: 'lineage-columns' }, ' Column level'))),
    status, h('div', { class: 'lineage-body' }, canvas, panel));

  let controller = null;
  async function fetchGraph(key, depth) {
    return api('/api/v1/lineage' + query({ key, depth, direction: g.direction, max_nodes: MAX_NODES,
                                           level: g.columns ? 'column' : 'table' }),
               { signal: controller.signal });
  }
  function merge(data) {
    for (const n of data.nodes || []) if (!g.nodes.has(n.key)) g.nodes.set(n.key, n);
    for (const e of data.edges || []) {
      const id = e.upstream + '\u0000' + e.downstream;
      const cur = g.edges.get(id) || { upstream: e.upstream, downstream: e.downstream, columns: [] };
      if (e.upstream_column) cur.columns.push([e.upstream_column, e.downstream_column]);
      g.edges.set(id, cur);
    }
    g.truncated = g.truncated || !!data.truncated;
  }
  async function reload() {
    if (controller) controller.abort();
    controller = new AbortController();
    g.nodes.clear(); g.edges.clear(); g.layerCap.clear(); g.expanded.clear(); g.truncated = false;
    status.textContent = 'Loading lineage…';
    try {
      merge(await fetchGraph(g.root, g.depth));
      g.expanded.add(g.root);
      draw();
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = `Lineage could not be loaded: ${e.message}`;
    }
  }
  async function expand(key) {
    g.selected = key;
    if (g.expanded.has(key)) { draw(); return; }
    g.expanded.add(key);
    status.textContent = 'Expanding…';
    try {
      const before = g.nodes.size;
      merge(await fetchGraph(key, 1));
      draw();
      const added = g.nodes.size - before;
      announce(`${added} node${added === 1 ? '' : 's'} added around ${g.nodes.get(key)?.name || key}`);
    } catch (e) {
      if (e.name !== 'AbortError') status.textContent = `Could not expand: ${e.message}`;
    }
  }

  function layers() {
    const down = new Map(), up = new Map();
    for (const e of g.edges.values()) {
      if (!down.has(e.upstream)) down.set(e.upstream, []);
      if (!up.has(e.downstream)) up.set(e.downstream, []);
      down.get(e.upstream).push(e.downstream);
      up.get(e.downstream).push(e.upstream);
    }
    const layer = new Map([[g.root, 0]]);
    for (const [adj, step] of [[down, 1], [up, -1]]) {
      const queue = [g.root];
      const seen = new Set(queue);
      while (queue.length) {
        const k = queue.shift();
        for (const n of adj.get(k) || []) {
          if (seen.has(n)) continue;
          seen.add(n);
          if (!layer.has(n)) layer.set(n, layer.get(k) + step);
          queue.push(n);
        }
      }
    }
    // Nodes reached sideways (a sibling found by expanding an upstream node) sit one layer
    // after a placed upstream or one before a placed downstream.
    for (let changed = true; changed;) {
      changed = false;
      for (const e of g.edges.values()) {
        if (layer.has(e.upstream) && !layer.has(e.downstream)) {
          layer.set(e.downstream, layer.get(e.upstream) + 1);
          changed = true;
        } else if (layer.has(e.downstream) && !layer.has(e.upstream)) {
          layer.set(e.upstream, layer.get(e.downstream) - 1);
          changed = true;
        }
      }
    }
    for (const k of g.nodes.keys()) if (!layer.has(k)) layer.set(k, 0);
    return { layer, down, up };
  }

  function draw() {
    const { layer, down, up } = layers();
    const byLayer = new Map();
    for (const [k, l] of layer) {
      if (!byLayer.has(l)) byLayer.set(l, []);
      byLayer.get(l).push(k);
    }
    const order = [...byLayer.keys()].sort((a, b) => a - b);
    const pos = new Map();  // key -> {x, y}
    const more = [];        // "+N more" placeholders
    const rank = new Map();
    // Outward from the root, each layer sorted by the mean row of its already placed neighbours.
    const outward = [0, ...order.filter((l) => l > 0), ...order.filter((l) => l < 0).reverse()];
    const minLayer = order[0];
    let maxRows = 0;
    for (const l of outward) {
      const keys = byLayer.get(l);
      const neighbourRank = (k) => {
        const ns = [...(down.get(k) || []), ...(up.get(k) || [])].filter((n) => rank.has(n));
        return ns.length ? ns.reduce((s, n) => s + rank.get(n), 0) / ns.length : 1e9;
      };
      keys.sort((a, b) => (a === g.root ? -1 : b === g.root ? 1 : 0) ||
                          neighbourRank(a) - neighbourRank(b) ||
                          (g.nodes.get(a)?.name || a).localeCompare(g.nodes.get(b)?.name || b));
      const cap = g.layerCap.get(l) || LAYER_CAP;
      const shown = keys.filter((k, i) => i < cap || k === g.selected || g.expanded.has(k));
      shown.forEach((k, i) => {
        rank.set(k, i);
        pos.set(k, { x: (l - minLayer) * (NODE_W + COL_GAP), y: i * (NODE_H + ROW_GAP) });
      });
      if (shown.length < keys.length) {
        more.push({ layer: l, hidden: keys.length - shown.length,
                    x: (l - minLayer) * (NODE_W + COL_GAP), y: shown.length * (NODE_H + ROW_GAP) });
      }
      maxRows = Math.max(maxRows, shown.length + (shown.length < keys.length ? 1 : 0));
    }
    const width = order.length * (NODE_W + COL_GAP) - COL_GAP + 2;
    const height = Math.max(1, maxRows) * (NODE_H + ROW_GAP) + 2;
    const edgeEls = [];
    for (const e of g.edges.values()) {
      const a = pos.get(e.upstream), b = pos.get(e.downstream);
      if (!a || !b) continue;
      const x1 = a.x + NODE_W, y1 = a.y + NODE_H / 2, x2 = b.x, y2 = b.y + NODE_H / 2;
      const mid = (x1 + x2) / 2;
      const hot = e.upstream === g.selected || e.downstream === g.selected;
      edgeEls.push(svg('path', { class: ['edge', hot && 'hot'],
                                 d: `M${x1},${y1} C${mid},${y1} ${mid},${y2} ${x2},${y2}` },
        e.columns.length ? svg('title', {}, e.columns.map(([u, d]) => `${u} → ${d}`).join('\n')) : null));
    }
    const nodeEls = [];
    for (const [k, p] of pos) {
      const n = g.nodes.get(k) || { key: k, name: k };
      const health = (n.health && n.health.status) || 'unknown';
      const name = n.name || k;
      const label = name.length > 24 ? name.slice(0, 23) + '…' : name;
      const el = svg('g', { class: ['node', 'health-' + health, k === g.root && 'root', k === g.selected && 'selected',
                                    g.expanded.has(k) && 'expanded'],
                            transform: `translate(${p.x},${p.y})`, tabindex: '0', role: 'button',
                            'data-key': k,
                            'aria-label': `${name}, ${n.kind || 'asset'}, ${health}` +
                              (g.expanded.has(k) ? '' : '; press Enter to expand') },
        svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
        svg('text', { x: 10, y: 17, class: 'node-name' }, label),
        svg('text', { x: 10, y: 32, class: 'node-kind' }, (n.kind || '') + (g.expanded.has(k) ? '' : ' · +')),
        svg('title', {}, `${name}\n${k}`));
      el.addEventListener('click', () => expand(k));
      el.addEventListener('dblclick', () => navigate(assetHref(k)));
      el.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); expand(k); }
      });
      nodeEls.push(el);
    }
    for (const m of more) {
      const el = svg('g', { class: 'node more', transform: `translate(${m.x},${m.y})`, tabindex: '0',
                            role: 'button', 'aria-label': `Show ${m.hidden} more` },
        svg('rect', { width: NODE_W, height: NODE_H, rx: 6 }),
        svg('text', { x: 10, y: 25, class: 'node-name' }, `+${m.hidden} more`));
      const reveal = () => { g.layerCap.set(m.layer, (g.layerCap.get(m.layer) || LAYER_CAP) + LAYER_CAP); draw(); };
      el.addEventListener('click', reveal);
      el.addEventListener('keydown', (ev) => { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); reveal(); } });
      nodeEls.push(el);
    }
    clear(canvas).append(svg('svg', { class: 'lineage-svg', width, height, viewBox: `-1 -1 ${width} ${height}`,
                                      role: 'group', 'aria-label': 'Lineage graph' }, edgeEls, nodeEls));
    const up_n = [...layer.values()].filter((l) => l < 0).length;
    const down_n = [...layer.values()].filter((l) => l > 0).length;
    status.textContent = `${g.nodes.size} assets: ${up_n} upstream, ${down_n} downstream` +
      (g.truncated ? ' (capped: expand a node to see more)' : '') +
      '. Click a node to expand it; double-click to open it.';
    drawPanel();
  }

  function drawPanel() {
    const n = g.nodes.get(g.selected);
    clear(panel);
    if (!n) return;
    const cols = [];
    for (const e of g.edges.values()) {
      if (e.upstream !== n.key && e.downstream !== n.key) continue;
      for (const [u, d] of e.columns) {
        cols.push(e.downstream === n.key
          ? `${g.nodes.get(e.upstream)?.name || e.upstream}.${u} → ${d}`
          : `${u} → ${g.nodes.get(e.downstream)?.name || e.downstream}.${d}`);
      }
    }
    append(panel, [h('h3', {}, n.name || n.key), h('p', {}, kindBadge(n.kind), ' ', healthBadge(n.health)),
      h('p', { class: 'muted break' }, n.key),
      (n.owners || []).length ? h('p', {}, 'Owners: ', n.owners.join(', ')) : null,
      n.key !== g.root ? h('p', {}, h('a', { href: assetHref(n.key), 'data-nav': true }, 'Open this asset')) : null,
      cols.length ? h('div', {}, h('h4', {}, 'Column lineage'),
                      h('ul', { class: 'cols' }, cols.slice(0, 50).map((c) => h('li', {}, c))))
        : g.columns ? h('p', { class: 'muted' }, 'No column-level lineage known for this asset.') : null]);
  }

  reload();
  return { section, stop: () => controller && controller.abort() };
}
