// DOM helpers. Everything the page shows is built with createElement and textContent:
// text from the API is never parsed as HTML, so names and descriptions cannot inject markup.

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') {
      el.addEventListener(name.slice(2).toLowerCase(), value);
    } else if (name === 'class') {
      el.setAttribute('class', Array.isArray(value) ? value.filter(Boolean).join(' ') : value);
    } else if (name.startsWith('on') || name === 'style' || name === 'srcdoc') {
      throw new Error(`h(): attribute ${name} is not allowed`);
    } else {
      el.setAttribute(name, value === true ? '' : String(value));
    }
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

// h('a', {href: '/x', class: 'y'}, 'text', otherNode)
export function h(tag, attrs, ...children) {
  return build(document.createElement(tag), attrs, children);
}

export function svg(tag, attrs, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attrs, children);
}

export function clear(el) {
  while (el.firstChild) el.firstChild.remove();
  return el;
}

// Only http(s) and same-site paths become links; javascript:, data: and the rest do not.
export function safeUrl(url) {
  const text = String(url || '').trim();
  if (text.startsWith('/') && !text.startsWith('//')) return text;
  try {
    const u = new URL(text);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

export function assetHref(key) { return '/assets/' + encodeURIComponent(key); }
export function ownerHref(id) { return '/owners/' + encodeURIComponent(id); }

export function healthBadge(health) {
  const status = (health && health.status) || 'unknown';
  const label = { incident: 'Incident open', anomaly: 'Anomaly seen', healthy: 'Healthy' }[status]
    || 'Health unknown';
  const title = health && health.last_anomaly ? `${label}: ${health.last_anomaly}` : label;
  return h('span', { class: ['badge', 'health-' + status], title }, label);
}

export function kindBadge(kind) { return h('span', { class: 'badge kind' }, kind || 'asset'); }

// "2026-12-05T10:00:00Z" -> "Dec 5, 10:00" in the reader's locale.
export function formatTime(ts) {
  if (!ts) return '—';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return String(ts);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric',
                                       hour: '2-digit', minute: '2-digit' });
}

export function formatNumber(v) {
  if (typeof v !== 'number' || !Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(Math.abs(v) >= 1e7 ? 0 : 1) + 'M';
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(0) + 'k';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

export function announce(text) {
  const el = document.getElementById('announce');
  if (el) el.textContent = text;
}

// Text with the case-insensitive occurrences of `words` wrapped in <mark>.
export function highlightWords(text, words) {
  const s = String(text || '');
  const terms = words.map((w) => w.toLowerCase().replace(/[*"]/g, '')).filter((w) => w.length > 0);
  if (terms.length === 0) return [s];
  const lower = s.toLowerCase();
  const out = [];
  let i = 0;
  while (i < s.length) {
    let best = -1, len = 0;
    for (const t of terms) {
      const at = lower.indexOf(t, i);
      if (at >= 0 && (best < 0 || at < best || (at === best && t.length > len))) { best = at; len = t.length; }
    }
    if (best < 0) break;
    if (best > i) out.push(s.slice(i, best));
    out.push(h('mark', {}, s.slice(best, best + len)));
    i = best + len;
  }
  if (i < s.length) out.push(s.slice(i));
  return out;
}

// `text` with the byte ranges [b, e) (UTF-8, as the search API reports them) in <mark>.
export function highlightRanges(text, ranges) {
  const bytes = new TextEncoder().encode(String(text || ''));
  const dec = new TextDecoder();
  const out = [];
  let at = 0;
  for (const [b, e] of ranges || []) {
    if (b < at || e > bytes.length || e <= b) continue;
    if (b > at) out.push(dec.decode(bytes.subarray(at, b)));
    out.push(h('mark', {}, dec.decode(bytes.subarray(b, e))));
    at = e;
  }
  if (at < bytes.length) out.push(dec.decode(bytes.subarray(at)));
  return out;
}
