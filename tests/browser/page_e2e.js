// End-to-end test of the catalog page (issue 9): a real `tidemark demo` on a fresh SQLite
// file, driven by headless Chromium through playwright-core. Types a query, checks ranked
// results and facet counts, filters, opens an asset (columns, charts, lineage), expands a
// lineage node, acknowledges an incident, opens an owner; at desktop and phone widths, with
// screenshots in ARTIFACTS. Fails on any console error, page error, request to a host other
// than the server, or horizontal overflow on the phone.
// Usage: node page_e2e.js TIDEMARK_BINARY ARTIFACTS_DIR
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const { startTidemark, launchOptions, checker } = require('./serve_helper');

const { check, finish } = checker();

function watch(page, base) {
  const w = { offHost: [], consoleErrors: [], pageErrors: [], dialogs: [] };
  const origin = new URL(base).origin;
  page.on('request', (r) => { if (new URL(r.url()).origin !== origin) w.offHost.push(r.url()); });
  page.on('console', (m) => { if (m.type() === 'error') w.consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => w.pageErrors.push(String(e)));
  page.on('dialog', (d) => { w.dialogs.push(d.message()); d.dismiss().catch(() => {}); });
  return w;
}

function report(label, w) {
  check(`${label}: only the server was asked`, w.offHost.length === 0, w.offHost.join(', '));
  check(`${label}: no console error`, w.consoleErrors.length === 0, w.consoleErrors.join(' | '));
  check(`${label}: no page error`, w.pageErrors.length === 0, w.pageErrors.join(' | '));
}

async function shot(page, file, what) {
  await page.screenshot({ path: file, fullPage: true });
  check(`screenshot ${path.basename(file)} (${what})`, fs.statSync(file).size > 8000);
}

async function desktop(browser, base, out) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const w = watch(page, base);
  await page.goto(base + '/', { waitUntil: 'load' });
  await page.waitForSelector('#q');
  await page.keyboard.press('/');
  check('"/" focuses the search box', await page.evaluate(() => document.activeElement.id === 'q'));

  // Type a query: ranked results, facets with counts, the URL follows.
  await page.keyboard.type('purchases', { delay: 25 });
  await page.waitForFunction(() => /purchases/.test(location.search) &&
    document.querySelectorAll('.hit').length > 0 && !document.querySelector('main[aria-busy]'));
  const hits = await page.$$eval('.hit .hit-name', (els) => els.map((e) => e.textContent));
  check('results for "purchases"', hits.length > 1, hits.slice(0, 5).join(', '));
  check('the best hit is named for the query', /purchases/i.test(hits[0]), hits[0]);
  check('matches are highlighted', (await page.$$eval('.hit mark', (m) => m.length)) > 0);
  const facets = await page.$$eval('.facet', (fs) => fs.map((f) => ({
    legend: f.querySelector('legend').textContent,
    counts: [...f.querySelectorAll('.count')].map((c) => +c.textContent) })));
  const kinds = facets.find((f) => f.legend === 'Kind');
  check('facet counts are shown', kinds && kinds.counts.length > 0 && kinds.counts.every((c) => c > 0),
        facets.map((f) => `${f.legend}:${f.counts.join('/')}`).join(' '));
  check('the status line says how many', /\d+ results? for/.test(await page.textContent('#search-status')));
  await shot(page, path.join(out, 'page-search-desktop.png'), 'search results');

  // Filter by the first kind: every hit has it, the URL says so, Back undoes it.
  const firstKind = await page.$eval('.facet input[name=kind]', (i) => i.value);
  await page.click('.facet input[name=kind]');
  await page.waitForFunction((k) => new URLSearchParams(location.search).get('kind') === k &&
    !document.querySelector('main[aria-busy]'), firstKind);
  const kindsShown = await page.$$eval('.hit .badge.kind', (b) => b.map((x) => x.textContent));
  check(`filter kind=${firstKind} keeps only that kind`,
        kindsShown.length > 0 && kindsShown.every((k) => k === firstKind), kindsShown.join(','));
  await page.goBack();
  await page.waitForFunction(() => !new URLSearchParams(location.search).get('kind'));
  check('Back removes the filter', !(await page.url()).includes('kind='));

  // A filter alone lists what it keeps (the links of owners and tags lead there).
  await page.goto(base + '/search?tag=streaming', { waitUntil: 'load' });
  await page.waitForSelector('.hit');
  const tagged = await page.$$eval('.hit', (els) => els.length);
  check('a tag filter without words lists its assets', tagged > 0, `${tagged} hits`);
  check('the status line counts them', /\d+ results?$/.test((await page.textContent('#search-status')).trim()),
        await page.textContent('#search-status'));

  // Empty and error states say what to do.
  await page.goto(base + '/search?q=zzqxvw', { waitUntil: 'load' });
  await page.waitForSelector('.results .empty');
  check('no match says what to try', /No assets match .zzqxvw.[\s\S]*prefix/.test(await page.textContent('main')));
  await page.goto(base + '/search?q=' + encodeURIComponent('a b c d e f g h i j k l m'), { waitUntil: 'load' });
  await page.waitForSelector('#search-status.error');
  check('a query the server rejects says why and what to do',
        /could not be read: .*at most 12.*try again/.test(await page.textContent('#search-status')),
        await page.textContent('#search-status'));
  w.consoleErrors = w.consoleErrors.filter((e) => !/status of 400/.test(e));  // that 400 was the point

  // Deep link, then keyboard: arrows and Enter open the asset. The page names its first
  // search for the browser to preload, and the page uses that answer: one request, not two.
  const searches = [];
  const onSearch = (r) => { if (r.url().includes('/api/v1/search')) searches.push(r.url()); };
  page.on('request', onSearch);
  await page.goto(base + '/search?q=fct_purchases', { waitUntil: 'load' });
  await page.waitForSelector('.hit');
  page.off('request', onSearch);
  check('a deep link fills the box', (await page.inputValue('#q')) === 'fct_purchases');
  check('a deep link asks for its results once (preloaded)', searches.length === 1, searches.join(', '));
  await page.focus('#q');
  await page.keyboard.press('ArrowDown');
  check('ArrowDown selects the first result',
        (await page.getAttribute('#hit-0', 'aria-selected')) === 'true');
  await page.keyboard.press('Enter');
  await page.waitForURL(/\/assets\//);
  await page.waitForSelector('.asset-head h1');
  const title = await page.textContent('.asset-head h1');
  check('Enter opens the asset page', /fct_purchases/.test(title), title);
  const columns = await page.$$eval('table.columns tbody tr', (r) => r.length).catch(() => 0);
  check('the asset shows its columns', columns > 0, `${columns} columns`);
  await page.waitForSelector('.lineage-svg .node');
  const nodes0 = await page.$$eval('.lineage-svg .node', (n) => n.length);
  check('the lineage graph is drawn', nodes0 > 1, `${nodes0} nodes`);
  await page.waitForFunction(() => document.querySelectorAll('.chart-svg').length > 0 ||
    /No metrics/.test(document.body.textContent), null, { timeout: 10000 }).catch(() => {});
  const charts = await page.$$eval('.chart-svg', (c) => c.length);
  check('freshness/volume charts are drawn', charts > 0, `${charts} charts`);
  await page.waitForFunction(() => !/Loading/.test(document.querySelector('[aria-labelledby=schema-h]').textContent));
  await shot(page, path.join(out, 'page-asset-desktop.png'), 'asset page');

  // Lineage: depth 1, then expanding a neighbour brings in its own neighbours.
  await page.selectOption('#lineage-depth', '1');
  await page.waitForFunction(() => /assets:/.test(document.querySelector('#lineage p.muted').textContent));
  const before = await page.$$eval('.lineage-svg .node:not(.more)', (n) => n.length);
  let after = before;
  const candidates = await page.$$eval('.lineage-svg .node:not(.root):not(.more)', (n) => n.map((x) => x.dataset.key));
  for (const key of candidates) {
    await page.click(`.lineage-svg .node[data-key="${key.replace(/"/g, '\\"')}"]`);
    await page.waitForFunction((k) => {
      const n = [...document.querySelectorAll('.lineage-svg .node')].find((x) => x.dataset.key === k);
      return n && n.classList.contains('expanded');
    }, key);
    after = await page.$$eval('.lineage-svg .node:not(.more)', (n) => n.length);
    if (after > before) break;
  }
  check('clicking a lineage node expands it', after > before, `${before} -> ${after} nodes`);
  const section = await page.$('#lineage');
  await section.screenshot({ path: path.join(out, 'page-lineage-desktop.png') });
  check('screenshot page-lineage-desktop.png (lineage graph)',
        fs.statSync(path.join(out, 'page-lineage-desktop.png')).size > 5000);
  await page.check('#lineage-columns');
  await page.waitForFunction(() => /assets:/.test(document.querySelector('#lineage p.muted').textContent));
  check('column-level lineage loads', (await page.$$eval('.lineage-svg .node', (n) => n.length)) > 0);

  // Incidents: acknowledge the first open one through the page.
  await page.click('header nav a[href="/incidents"]');
  await page.waitForSelector('.incident, .incidents .empty');
  const open = await page.$$eval('.incident', (c) => c.length);
  check('open incidents are listed', open > 0, `${open} incidents`);
  const card = await page.$('.incident');
  const id = (await card.getAttribute('id')).replace(/^incident-/, '');
  check('an incident shows root, impact and owners',
        /Root:/.test(await card.textContent()) && /Impact:/.test(await card.textContent()) &&
        /Owners:/.test(await card.textContent()));
  await shot(page, path.join(out, 'page-incidents-desktop.png'), 'incidents');
  await card.$eval('button:not(.secondary)', (b) => b.click());
  await page.waitForFunction((i) => document.querySelector(`#incident-${CSS.escape(i)} .state-acknowledged`), id);
  const stored = await page.evaluate(async (i) => (await (await fetch('/api/v1/incidents/' + encodeURIComponent(i))).json()).state, id);
  check('Acknowledge changed the stored incident', stored === 'acknowledged', stored);

  // The link alerts and reports carry, /incidents/<id>, opens the list with it in focus.
  await page.goto(base + '/incidents/' + encodeURIComponent(id), { waitUntil: 'load' });
  await page.waitForSelector('.incident.focus');
  const focused = (await page.$eval('.incident.focus', (c) => c.id)).replace(/^incident-/, '');
  check('an incident link focuses that incident', focused === id, focused);
  await page.goto(base + '/incidents', { waitUntil: 'load' });
  await page.waitForSelector('.incident');

  // The demo's five incidents (issue 10), open and past, each under its own root.
  await page.click('nav.tabs a[href="/incidents?state=all"]');
  await page.waitForFunction(() => /state=all/.test(location.search) &&
                             document.querySelectorAll('.incident').length >= 5);
  const titles = await page.$$eval('.incident h2',
                                   (t) => t.map((x) => x.textContent));
  for (const root of ['raw.airbyte.hubspot_contacts', 'raw.streaming.purchases', 'raw.dlt.products',
                      'raw.dlt.exchange_rates', 'analytics.marts.dim_customers']) {
    check(`the demo incident rooted at ${root} is on the page`,
          titles.filter((t) => t.startsWith(root + ':')).length === 1, titles.join(' | '));
  }

  // Owner page from an asset's owner link.
  await page.goto(base + '/search?q=fct_purchases', { waitUntil: 'load' });
  await page.waitForSelector('.hit');
  const ownerLink = await page.$('.hit-meta a[href^="/owners/"]');
  if (ownerLink) {
    await ownerLink.click();
    await page.waitForSelector('table tbody tr');
    check('the owner page lists what they own',
          (await page.$$eval('table tbody tr', (r) => r.length)) > 0, await page.textContent('h1'));
    await shot(page, path.join(out, 'page-owner-desktop.png'), 'owner page');
  } else {
    check('a result names its owner', false);
  }

  report('desktop', w);
  await context.close();
}

async function phone(browser, base, out) {
  const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const page = await context.newPage();
  const w = watch(page, base);
  const pages = [
    ['search', '/search?q=purchases', '.hit'],
    ['asset', null, '.lineage-svg .node'],
    ['incidents', '/incidents?state=all', '.incident'],
  ];
  const first = await page.goto(base + '/search?q=fct_purchases', { waitUntil: 'load' });
  check('phone: loads', first.ok());
  await page.waitForSelector('.hit');
  pages[1][1] = new URL(await page.getAttribute('.hit-name', 'href'), base).pathname;
  for (const [name, url, selector] of pages) {
    await page.goto(base + url, { waitUntil: 'load' });
    await page.waitForSelector(selector);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    check(`phone ${name}: no horizontal overflow`, overflow <= 0, `${overflow}px`);
    await shot(page, path.join(out, `page-${name}-phone.png`), `${name} at 390px`);
  }
  await page.goto(base + pages[1][1], { waitUntil: 'load' });
  await page.waitForSelector('.lineage-svg .node');
  await (await page.$('#lineage')).screenshot({ path: path.join(out, 'page-lineage-phone.png') });
  check('screenshot page-lineage-phone.png (lineage at 390px)',
        fs.statSync(path.join(out, 'page-lineage-phone.png')).size > 3000);
  report('phone', w);
  await context.close();
}

async function main() {
  const [binary, out] = process.argv.slice(2);
  if (!binary || !out) {
    console.error('usage: node page_e2e.js TIDEMARK_BINARY ARTIFACTS_DIR');
    process.exit(2);
  }
  fs.mkdirSync(out, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-page-e2e-'));
  const server = await startTidemark(binary, ['demo', '--db', 'sqlite:' + path.join(dir, 'demo.db'),
                                              '--listen', '127.0.0.1:0'], { cwd: dir });
  console.log(`serving ${server.url}`);
  const browser = await chromium.launch(launchOptions());
  try {
    await desktop(browser, server.url, out);
    await phone(browser, server.url, out);
  } finally {
    await browser.close();
    await server.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  finish();
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
