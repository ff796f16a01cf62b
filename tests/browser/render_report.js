// Renders a Tidemark HTML report in headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) at a desktop and a phone width, saves PNG screenshots, and fails when the
// page made any network request, logged a console error or threw, or overflows the phone's
// width. Usage: node render_report.js REPORT.html OUT_PREFIX
// Prints "N passed, N failed" as its last line.
'use strict';
const fs = require('fs');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const [html, outPrefix] = process.argv.slice(2);
  if (!html || !outPrefix) {
    console.error('usage: node render_report.js REPORT.html OUT_PREFIX');
    process.exit(2);
  }
  const url = 'file://' + path.resolve(html);
  const results = [];
  const check = (name, ok, detail) => {
    results.push(ok);
    console.log(`${ok ? 'ok  ' : 'FAIL'} ${name}${detail ? ': ' + detail : ''}`);
  };
  const browser = await chromium.launch({
    executablePath: process.env.TIDEMARK_CHROMIUM || '/usr/bin/chromium',
    headless: true,
    chromiumSandbox: false,
    args: ['--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
           '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
  });
  try {
    for (const [label, viewport] of [['desktop', { width: 1280, height: 900 }],
                                     ['phone', { width: 390, height: 844 }]]) {
      const context = await browser.newContext({ viewport, deviceScaleFactor: 1 });
      const page = await context.newPage();
      const requests = [], consoleErrors = [], pageErrors = [];
      page.on('request', (r) => { if (r.url() !== url) requests.push(r.url()); });
      page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
      page.on('pageerror', (e) => pageErrors.push(String(e)));
      const response = await page.goto(url, { waitUntil: 'load' });
      check(`${label}: loaded`, response === null || response.ok());
      const png = `${outPrefix}-${label}.png`;
      await page.screenshot({ path: png, fullPage: true });
      check(`${label}: screenshot ${png}`, fs.statSync(png).size > 10000);
      check(`${label}: no network request`, requests.length === 0, requests.join(', '));
      check(`${label}: no console error`, consoleErrors.length === 0, consoleErrors.join(' | '));
      check(`${label}: no page error`, pageErrors.length === 0, pageErrors.join(' | '));
      const facts = await page.evaluate(() => ({
        title: document.title,
        h2: [...document.querySelectorAll('h2')].map((h) => h.textContent),
        charts: document.querySelectorAll('svg.chart').length,
        overflow: document.documentElement.scrollWidth - window.innerWidth,
        chartWidth: Math.max(0, ...[...document.querySelectorAll('svg.chart')]
          .map((s) => s.getBoundingClientRect().width)),
      }));
      check(`${label}: has its sections`,
            ['Headline', 'Freshness', 'dbt'].every((s) => facts.h2.some((h) => h.startsWith(s))),
            facts.h2.join(' / '));
      check(`${label}: charts drawn`, facts.charts > 0, `${facts.charts} charts`);
      check(`${label}: charts fit the width`,
            facts.chartWidth > 0 && facts.chartWidth <= viewport.width, `${facts.chartWidth}px`);
      check(`${label}: no horizontal overflow`, facts.overflow <= 0, `${facts.overflow}px`);
      await context.close();
    }
    // Printable: a PDF renders.
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(url, { waitUntil: 'load' });
    const pdf = await page.pdf({ format: 'A4', printBackground: true });
    fs.writeFileSync(`${outPrefix}.pdf`, pdf);
    check('print: PDF rendered', pdf.length > 10000, `${pdf.length} bytes`);
    await context.close();
  } finally {
    await browser.close();
  }
  const passed = results.filter(Boolean).length, failed = results.length - passed;
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((e) => {
  console.error(e);
  console.log('0 passed, 1 failed');
  process.exit(1);
});
