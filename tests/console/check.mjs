// Loads sluice up's console in Debian's Chromium (headless, driven by playwright-core), waits
// until the page shows a host and a consumer group, and prints what the page shows as JSON
// on stdout: every table cell by its data-field, the charts' point counts, and the JSON API
// fetched for the same snapshot. tests/console_browser.rs compares those figures with sluice's tools.
//
// usage: node check.mjs URL SCREENSHOT.png
import { chromium } from 'playwright-core';

const [url, screenshot] = process.argv.slice(2);
if (!url || !screenshot) {
  console.error('usage: node check.mjs URL SCREENSHOT.png');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  // No sandbox as root; no background traffic, which this machine's closed network refuses.
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  await page.goto(url);
  // The page refreshes its <main> by itself; wait for a host row and a group row to appear.
  await page.waitForSelector('#hosts-table tbody tr', { timeout: 60_000 });
  await page.waitForSelector('#groups-table tbody tr', { timeout: 60_000 });
  await page.waitForFunction(
    () => [...document.querySelectorAll('figure.chart')].every((f) => Number(f.dataset.points) >= 3),
    null, { timeout: 60_000 });

  // The page refreshes itself: its snapshot time moves on without a reload.
  const shown = () => Number(document.querySelector('.updated').dataset.value);
  const first = await page.evaluate(shown);
  await page.waitForFunction((t) => Number(document.querySelector('.updated').dataset.value) > t,
    first, { timeout: 30_000 });

  // The DOM and the API must describe the same snapshot. The page's own refresh and the
  // server's sampling tick independently, so fetch the fragment the page fetches and the API
  // back to back, put the fragment in place and read it in the same turn of the event loop;
  // retry when a sampling tick fell between the two fetches.
  let seen;
  for (let attempt = 0; attempt < 50 && !seen; attempt++) {
    const both = await page.evaluate(async () => {
      const fragment = await (await fetch('/fragment')).text();
      const api = await (await fetch('/api/console')).json();
      document.getElementById('console').innerHTML = fragment;
      const cells = (row) => Object.fromEntries([...row.querySelectorAll('[data-field]')].map(
        (c) => [c.dataset.field, c.dataset.value ?? c.textContent]));
      const rows = (selector) => [...document.querySelectorAll(selector)].map((r) => ({ ...r.dataset, ...cells(r) }));
      const dom = {
        generated_at_ms: Number(document.querySelector('.updated').dataset.value),
        hosts: rows('#hosts-table tbody tr'),
        topics: rows('#topics-table tbody tr'),
        partitions: rows('#partitions-table tbody tr'),
        groups: rows('#groups-table tbody tr'),
        group_partitions: [...document.querySelectorAll('table.group-partitions')].flatMap(
          (t) => [...t.querySelectorAll('tbody tr')].map((r) => ({ group: t.dataset.group, ...r.dataset, ...cells(r) }))),
        charts: [...document.querySelectorAll('figure.chart')].map((f) => ({
          title: f.getAttribute('aria-label'),
          points: Number(f.dataset.points),
          // Points the browser actually holds in the drawn lines.
          drawn: [...f.querySelectorAll('polyline')].map((p) => p.points.numberOfItems),
        })),
      };
      return { dom, api };
    });
    if (both.api.generated_at_ms === both.dom.generated_at_ms) seen = both;
  }
  if (!seen) throw new Error('the fragment and /api/console never showed the same snapshot');
  await page.screenshot({ path: screenshot, fullPage: true });
  process.stdout.write(JSON.stringify(seen));
} finally {
  await browser.close();
}
