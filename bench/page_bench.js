// Speed of the catalog page (issue 9) in headless Chromium against a running `tidemark serve`:
//   first_render_ms  navigation start -> the first results drawn, for /search?q=WORD on a fresh
//                    browser context (no cache), median of --runs; target < 300 ms
//   update_ms        keystroke (the input event) -> the results for that text drawn, typing one
//                    character at a time; includes the page's 40 ms debounce; target < 100 ms
// Usage: node bench/page_bench.js URL [--runs N] [--query WORD] [--type TEXT]
'use strict';
const path = require('path');
const { chromium } = require(path.join(__dirname, '../tests/browser/node_modules/playwright-core'));

function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2) : NaN;
}
function pct(xs, p) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function main() {
  const args = process.argv.slice(2);
  const base = args[0];
  const opt = (name, def) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : def; };
  const runs = +opt('--runs', 7);
  const word = opt('--query', 'customer');
  const typed = opt('--type', 'customer orders');
  if (!base) { console.error('usage: node bench/page_bench.js URL [--runs N]'); process.exit(2); }
  const browser = await chromium.launch({
    executablePath: process.env.TIDEMARK_CHROMIUM || '/usr/bin/chromium', headless: true,
    chromiumSandbox: false, args: ['--disable-gpu', '--no-first-run', '--disable-dev-shm-usage'],
  });
  const first = [], api = [];
  for (let i = 0; i < runs + 1; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${base}/search?q=${encodeURIComponent(word)}`);
    await page.waitForSelector('.hit');
    const t = await page.evaluate(() => {
      const m = performance.getEntriesByName('tidemark:results')[0];
      return { render: m.startTime, api: m.detail.ms };
    });
    if (i > 0) { first.push(t.render); api.push(t.api); }  // the first run warms the server
    await context.close();
  }
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  await page.goto(`${base}/search`);
  await page.waitForSelector('#q');
  await page.evaluate(() => {
    window.__lat = [];
    const input = document.getElementById('q');
    const sent = new Map();
    input.addEventListener('input', () => sent.set(input.value, performance.now()), true);
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        if (e.name !== 'tidemark:results' || !sent.has(e.detail.q)) continue;
        window.__lat.push(e.startTime - sent.get(e.detail.q));
        sent.delete(e.detail.q);
      }
    }).observe({ entryTypes: ['mark'] });
  });
  const updates = [];
  for (let r = 0; r < runs; r++) {
    await page.fill('#q', '');
    await page.evaluate(() => { window.__lat = []; });
    await page.focus('#q');
    for (const ch of typed) {
      await page.keyboard.type(ch);
      await page.waitForTimeout(250);  // one keystroke at a time: each gets its own results
    }
    updates.push(...await page.evaluate(() => window.__lat));
  }
  await browser.close();
  const f = (x) => x.toFixed(1);
  console.log(`first_render_ms median ${f(median(first))} (min ${f(Math.min(...first))}, max ${f(Math.max(...first))}, ` +
              `${first.length} runs; of which search API round trip median ${f(median(api))}) target < 300`);
  console.log(`update_ms       median ${f(median(updates))} p90 ${f(pct(updates, 0.9))} (max ${f(Math.max(...updates))}, ` +
              `${updates.length} keystrokes typing "${typed}") target < 100`);
}

main().catch((e) => { console.error(e); process.exit(1); });
