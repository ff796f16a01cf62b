// The incidents page: what is broken now, where it started (root), its symptoms, what it
// affects downstream, who owns it, and Acknowledge / Resolve buttons that call the API.

import { api, query } from './api.js';
import { h, clear, assetHref, ownerHref, formatTime, formatNumber, announce } from './dom.js';

const STATES = [['open', 'Open'], ['acknowledged', 'Acknowledged'], ['resolved', 'Resolved'], ['', 'All']];

export function mountIncidents(view, navigate, pathId) {
  const params = new URLSearchParams(location.search);
  const focusId = pathId || params.get('id');
  // A linked incident may be resolved by now: its link shows every state.
  const state = params.has('state') ? params.get('state') : (pathId ? 'all' : 'open');
  const controller = new AbortController();
  const list = h('div', { class: 'incidents', 'aria-live': 'polite' }, h('p', { class: 'muted' }, 'Loading…'));
  const tabs = h('nav', { class: 'tabs', 'aria-label': 'Incident state' }, STATES.map(([v, l]) =>
    h('a', { href: '/incidents' + query({ state: v || 'all' }), 'data-nav': true,
             'aria-current': (v === state || (v === '' && state === 'all')) ? 'page' : null }, l)));
  clear(view).append(h('h1', {}, 'Incidents'), tabs, list);
  document.title = 'Incidents · Tidemark';
  (async () => {
    try {
      const data = await api('/api/v1/incidents' + query({ state: state === 'all' ? '' : state, limit: 200 }),
                             { signal: controller.signal });
      const incidents = data.incidents || [];
      clear(list);
      if (incidents.length === 0) {
        list.append(h('p', { class: 'empty' }, state === 'open'
          ? 'No open incidents. Detection runs in the background; `tidemark detect` runs it now.'
          : 'No incidents in this state.'));
      }
      for (const i of incidents) {
        const card = incidentCard(i);
        list.append(card);
        if (i.id === focusId) { card.classList.add('focus'); card.scrollIntoView({ block: 'start' }); }
      }
      announce(`${incidents.length} incident${incidents.length === 1 ? '' : 's'}`);
    } catch (e) {
      if (e.name === 'AbortError') return;
      clear(list).append(h('p', { class: 'error' }, `Incidents could not be loaded: ${e.message}. Reload to retry.`));
    }
  })();
  return () => controller.abort();
}

function incidentCard(i) {
  const p = i.properties || {};
  const symptoms = p.symptoms || [];
  const impact = p.impact || {};
  const owners = p.owners || [];
  const msg = h('p', { class: 'action-msg', role: 'status' });
  const stateBadge = h('span', { class: ['badge', 'state-' + i.state] }, i.state);
  const act = (verb) => async (ev) => {
    const button = ev.currentTarget;
    button.disabled = true;
    try {
      const updated = await api(`/api/v1/incidents/${encodeURIComponent(i.id)}/${verb}`,
                                { method: 'POST', body: { by: 'web' } });
      stateBadge.className = 'badge state-' + updated.state;
      stateBadge.textContent = updated.state;
      msg.textContent = verb === 'ack' ? 'Acknowledged.' : 'Resolved.';
      ack.disabled = updated.state !== 'open';
      resolve.disabled = updated.state === 'resolved';
    } catch (e) {
      msg.textContent = `Could not ${verb === 'ack' ? 'acknowledge' : 'resolve'}: ${e.message}`;
      msg.classList.add('error');
      button.disabled = false;
    }
  };
  const ack = h('button', { type: 'button', onclick: act('ack'), disabled: i.state !== 'open' }, 'Acknowledge');
  const resolve = h('button', { type: 'button', class: 'secondary', onclick: act('resolve'),
                                disabled: i.state === 'resolved' }, 'Resolve');
  return h('article', { class: 'card incident', id: 'incident-' + i.id, 'aria-labelledby': 'incident-h-' + i.id },
    h('div', { class: 'title-row' },
      h('h2', { id: 'incident-h-' + i.id }, i.title || i.id),
      h('span', { class: ['badge', 'sev-' + i.severity] }, i.severity), stateBadge),
    h('p', { class: 'muted' }, `Opened ${formatTime(i.opened_at)} · updated ${formatTime(i.updated_at)}` +
      (i.acknowledged_at ? ` · acknowledged ${formatTime(i.acknowledged_at)}` : '') +
      (i.resolved_at ? ` · resolved ${formatTime(i.resolved_at)}` : '')),
    h('p', {}, h('strong', {}, 'Root: '), h('a', { href: assetHref(i.root), 'data-nav': true, class: 'break' }, i.root)),
    symptoms.length ? h('div', {}, h('h3', {}, `Symptoms (${symptoms.length})`), h('ul', {}, symptoms.slice(0, 10).map((s) =>
      h('li', {}, h('a', { href: assetHref(s.asset), 'data-nav': true }, s.asset.split('/').pop()),
        ` · ${s.metric} · ${s.explanation || s.detector}`,
        s.recovered ? h('span', { class: 'badge state-resolved' }, 'recovered') : null)))) : null,
    h('p', {}, h('strong', {}, 'Impact: '),
      `${formatNumber(impact.downstream_count || 0)} downstream assets, ${impact.dashboards || 0} dashboards` +
      ((impact.top || []).length ? ` (${impact.top.join(', ')})` : '')),
    h('p', {}, h('strong', {}, 'Owners: '), owners.length
      ? owners.flatMap((o, j) => [j ? ', ' : '', h('a', { href: ownerHref(o), 'data-nav': true }, o)])
      : h('span', { class: 'muted' }, 'nobody recorded: add owners in dbt meta')),
    p.resolution ? h('p', { class: 'muted' }, `Resolution: ${p.resolution}`) : null,
    h('div', { class: 'actions' }, ack, resolve), msg);
}
