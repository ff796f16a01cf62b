// Time-series charts in inline SVG: the series, its typical range, and the detectors'
// anomalies with their expected bands. No library; the SVG scales with its container.

import { h, svg, formatNumber, formatTime } from './dom.js';

const W = 640, H = 180, PAD = { l: 48, r: 12, t: 12, b: 24 };
const WINDOW = 28;

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// The typical range drawn behind the line: for each point, the median of the WINDOW points
// before it +- 3 scaled median absolute deviations. A display aid: the detectors' own bands
// are the ones marked on anomalies.
export function rollingBand(values) {
  const band = [];
  for (let i = 0; i < values.length; i++) {
    const prev = values.slice(Math.max(0, i - WINDOW), i);
    if (prev.length < 7) { band.push(null); continue; }
    const m = median(prev);
    const mad = median(prev.map((v) => Math.abs(v - m))) * 1.4826;
    const spread = Math.max(3 * mad, Math.abs(m) * 0.01);
    band.push([m - spread, m + spread]);
  }
  return band;
}

// points: [[ts, value], ...] in time order; anomalies: [{ts, value, expected_low, ...}].
export function seriesChart({ title, unit, points, anomalies }) {
  const t = points.map(([ts]) => Date.parse(ts));
  const v = points.map(([, value]) => value);
  const band = rollingBand(v);
  const marks = (anomalies || []).map((a) => ({ ...a, t: Date.parse(a.ts) }))
    .filter((a) => Number.isFinite(a.t));
  let lo = Math.min(...v), hi = Math.max(...v);
  for (const b of band) if (b) { lo = Math.min(lo, b[0]); hi = Math.max(hi, b[1]); }
  for (const a of marks) {
    lo = Math.min(lo, a.value, a.expected_low);
    hi = Math.max(hi, a.value, a.expected_high);
  }
  if (lo > 0 && lo < hi * 0.3) lo = 0;
  if (hi === lo) { hi += 1; lo -= 1; }
  let t0 = Math.min(...t, ...marks.map((a) => a.t)), t1 = Math.max(...t, ...marks.map((a) => a.t));
  if (t1 === t0) t1 = t0 + 1;
  const x = (ms) => PAD.l + ((ms - t0) / (t1 - t0)) * (W - PAD.l - PAD.r);
  const y = (val) => PAD.t + (1 - (val - lo) / (hi - lo)) * (H - PAD.t - PAD.b);

  const parts = [];
  // Band: one polygon per run of points that have one.
  let run = [];
  const flush = () => {
    if (run.length > 1) {
      const top = run.map((i) => `${x(t[i]).toFixed(1)},${y(band[i][1]).toFixed(1)}`);
      const bottom = run.slice().reverse().map((i) => `${x(t[i]).toFixed(1)},${y(band[i][0]).toFixed(1)}`);
      parts.push(svg('polygon', { class: 'band', points: top.concat(bottom).join(' ') }));
    }
    run = [];
  };
  band.forEach((b, i) => (b ? run.push(i) : flush()));
  flush();
  // Axes: min and max values, first and last time.
  parts.push(svg('line', { class: 'axis', x1: PAD.l, y1: H - PAD.b, x2: W - PAD.r, y2: H - PAD.b }));
  parts.push(svg('text', { class: 'tick', x: PAD.l - 4, y: y(hi) + 4, 'text-anchor': 'end' }, formatNumber(hi)));
  parts.push(svg('text', { class: 'tick', x: PAD.l - 4, y: y(lo), 'text-anchor': 'end' }, formatNumber(lo)));
  parts.push(svg('text', { class: 'tick', x: PAD.l, y: H - 6 }, formatTime(new Date(t0).toISOString())));
  parts.push(svg('text', { class: 'tick', x: W - PAD.r, y: H - 6, 'text-anchor': 'end' },
                 formatTime(new Date(t1).toISOString())));
  if (points.length > 0) {
    const d = points.map((_, i) => `${i ? 'L' : 'M'}${x(t[i]).toFixed(1)},${y(v[i]).toFixed(1)}`).join('');
    parts.push(svg('path', { class: 'line', d }));
  }
  for (const a of marks) {
    const cx = x(a.t);
    parts.push(svg('line', { class: 'expected', x1: cx, x2: cx, y1: y(a.expected_high), y2: y(a.expected_low) }));
    parts.push(svg('circle', { class: 'anomaly', cx, cy: y(a.value), r: 4.5 },
      svg('title', {}, `${formatTime(a.ts)}: ${formatNumber(a.value)} (expected ` +
        `${formatNumber(a.expected_low)}–${formatNumber(a.expected_high)}). ${a.explanation || ''}`)));
  }
  const label = `${title}: ${points.length} points, ${marks.length} anomal${marks.length === 1 ? 'y' : 'ies'}`;
  return h('figure', { class: 'chart' },
    svg('svg', { viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': label, class: 'chart-svg' }, parts),
    h('figcaption', {}, h('strong', {}, title), unit ? ` (${unit})` : '',
      ' · shaded: typical range · ', h('span', { class: 'legend-anomaly' }, '●'),
      ' anomaly with the detector’s expected range'));
}

// Update timestamps ("last_modified" style series, seconds since epoch, or their own ts)
// turned into hours between consecutive updates: what freshness looks like.
export function intervalsHours(points, valuesAreTimes) {
  const times = points.map(([ts, v]) => (valuesAreTimes ? v * 1000 : Date.parse(ts)));
  const out = [];
  for (let i = 1; i < times.length; i++) {
    if (times[i] === times[i - 1]) continue;
    out.push([points[i][0], (times[i] - times[i - 1]) / 3.6e6]);
  }
  return out;
}
