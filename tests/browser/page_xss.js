// Injection test of the catalog page (issue 9): a real `tidemark serve` over a SQLite store
// loaded with tests/data/dbt/xss, whose names, descriptions, tags, columns and owners carry
// <script>, onerror=/onload= and javascript:/data: link payloads. Opens the search, asset,
// lineage and owner views in headless Chromium and checks that no payload ran (window.__xss
// never set, no dialog), no element came from the data, and the text is shown literally.
// Usage: node page_xss.js TIDEMARK_BINARY MANIFEST_DIR ARTIFACTS_DIR
'use strict';
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');
const { startTidemark, runTidemark, launchOptions, checker } = require('./serve_helper');

const { check, finish } = checker();

// What the page must never contain, whatever the data says.
async function inspect(page, label) {
  const facts = await page.evaluate(() => ({
    flag: window.__xss,
    scripts: [...document.scripts].map((s) => s.src),
    imgs: document.querySelectorAll('img').length,
    iframes: document.querySelectorAll('iframe').length,
    handlers: [...document.querySelectorAll('*')].flatMap((el) =>
      [...el.attributes].filter((a) => /^on/i.test(a.name)).map((a) => `${el.tagName}[${a.name}]`)),
    badLinks: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href'))
      .filter((h) => !/^(https?:\/\/|\/|#)/.test(h) || /^\/\//.test(h)),
    svgFromData: document.querySelectorAll('main svg svg, main b, main i').length,
  }));
  check(`${label}: no payload ran (window.__xss unset)`, facts.flag === undefined, String(facts.flag));
  check(`${label}: only the page's own script`, facts.scripts.length === 1 && /\/static\/app\.js$/.test(facts.scripts[0]),
        facts.scripts.join(','));
  check(`${label}: no <img> or <iframe> from the data`, facts.imgs === 0 && facts.iframes === 0,
        `${facts.imgs} img, ${facts.iframes} iframe`);
  check(`${label}: no inline event handler attributes`, facts.handlers.length === 0, facts.handlers.join(','));
  check(`${label}: links are http(s), same-site or in-page only`, facts.badLinks.length === 0, facts.badLinks.join(' '));
  check(`${label}: no markup elements from the data`, facts.svgFromData === 0);
}

async function main() {
  const [binary, manifestDir, out] = process.argv.slice(2);
  if (!binary || !manifestDir || !out) {
    console.error('usage: node page_xss.js TIDEMARK_BINARY MANIFEST_DIR ARTIFACTS_DIR');
    process.exit(2);
  }
  fs.mkdirSync(out, { recursive: true });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidemark-page-xss-'));
  const db = 'sqlite:' + path.join(dir, 'xss.db');
  runTidemark(binary, ['ingest', 'dbt', manifestDir, '--db', db]);
  const server = await startTidemark(binary, ['serve', '--db', db, '--listen', '127.0.0.1:0'], { cwd: dir });
  const origin = new URL(server.url).origin;
  const browser = await chromium.launch(launchOptions());
  const dialogs = [], offHost = [], pageErrors = [];
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    page.on('dialog', (d) => { dialogs.push(d.message()); d.dismiss().catch(() => {}); });
    page.on('request', (r) => { if (new URL(r.url()).origin !== origin) offHost.push(r.url()); });
    page.on('pageerror', (e) => pageErrors.push(String(e)));

    await page.goto(server.url + '/search?q=orders', { waitUntil: 'load' });
    await page.waitForSelector('.hit');
    const names = await page.$$eval('.hit .hit-name', (e) => e.map((x) => x.textContent));
    check('search: the payload name is shown as text',
          names.some((n) => n.includes('orders<img src=x onerror="window.__xss=1;alert(1)">')), names.join(' | '));
    const tagText = await page.$$eval('.facet', (f) => f.map((x) => x.textContent).join(' '));
    check('search: the payload tag is a facet value in text', tagText.includes('<svg onload=window.__xss=1>'));
    await page.waitForTimeout(300);
    await inspect(page, 'search');
    await page.screenshot({ path: path.join(out, 'page-xss-search.png'), fullPage: true });

    // Open the evil asset by its alias-free key from the hit's link.
    const href = await page.$$eval('.hit .hit-name', (e) => e.find((x) => x.textContent.startsWith('orders<img')).getAttribute('href'));
    await page.goto(server.url + href, { waitUntil: 'load' });
    await page.waitForSelector('.asset-head h1');
    await page.waitForSelector('.lineage-svg .node');
    await page.waitForTimeout(300);
    const head = await page.textContent('.asset-head');
    check('asset: the name is shown literally', (await page.textContent('.asset-head h1')).includes('<img src=x onerror='));
    check('asset: the description\'s <script> is shown as text', head.includes('<script>window.__xss=1;alert(1)</script>'));
    const links = await page.$$eval('.markdown a', (a) => a.map((x) => [x.textContent, x.getAttribute('href')]));
    check('asset: only the https link became a link',
          links.length === 1 && links[0][1] === 'https://docs.example.com/orders', JSON.stringify(links));
    check('asset: the javascript: link stays text', head.includes('[click me](javascript:window.__xss=1)'));
    check('asset: Markdown still renders (bold)', (await page.$$eval('.markdown strong', (s) => s.length)) === 1);
    const cols = await page.$$eval('table.columns tbody th', (c) => c.map((x) => x.textContent));
    check('asset: the payload column name is text', cols.includes('<img src=x onerror=window.__xss=1>'), cols.join(' | '));
    await inspect(page, 'asset');
    await page.screenshot({ path: path.join(out, 'page-xss-asset.png'), fullPage: true });

    // Lineage node labels and the side panel carry the downstream payload name.
    const nodeText = await page.$$eval('.lineage-svg .node', (n) => n.map((x) => x.textContent).join(' '));
    check('lineage: payload names are node text', nodeText.includes('report_"><script>'), nodeText.slice(0, 120));
    for (const key of await page.$$eval('.lineage-svg .node:not(.root)', (n) => n.map((x) => x.dataset.key))) {
      await page.click(`.lineage-svg .node[data-key="${key.replace(/"/g, '\\"')}"]`);
    }
    await page.waitForTimeout(300);
    await inspect(page, 'lineage');

    // The owner page of the payload owner, if the collector kept it as an owner.
    const ownerHref = await page.$eval('.asset-head a[href^="/owners/"]', (a) => a.getAttribute('href')).catch(() => null);
    if (ownerHref) {
      await page.goto(server.url + ownerHref, { waitUntil: 'load' });
      await page.waitForSelector('h1');
      await page.waitForTimeout(300);
      await inspect(page, 'owner');
    }
    check('no dialog opened', dialogs.length === 0, dialogs.join(' | '));
    check('no request left the server', offHost.length === 0, offHost.join(', '));
    check('no page error', pageErrors.length === 0, pageErrors.join(' | '));
    await context.close();
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
