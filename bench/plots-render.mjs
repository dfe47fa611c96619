#!/usr/bin/env node
// bench/plots-render.mjs: how long headless Chromium takes to render a page `rvc plots` wrote.
//
//   node bench/plots-render.mjs <page.html> [runs]     # default 3 runs
//
// Opens the page from disk in Debian's Chromium (playwright-core; a fresh profile, every
// request that is not file: or data: refused) and times from navigation until the page says
// every plot settled (`document.body.dataset.ready === '1'`). Prints the median in seconds, and
// how many plots rendered without error. Exit 2 when Chromium is not installed.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium } from 'playwright-core';

const [file, runsArg] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/plots-render.mjs <page.html> [runs]\n');
  process.exit(2);
}
const exe = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => fs.existsSync(p));
if (!exe) {
  process.stderr.write('plots-render: Chromium is not installed\n');
  process.exit(2);
}
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-bench-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: exe, headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  await context.route('**/*', (r) => (/^(file|data):/.test(r.request().url()) ? r.continue() : r.abort()));
  const times = [];
  let ok = 0;
  let all = 0;
  for (let i = 0; i < Number(runsArg ?? 3); i++) {
    const page = await context.newPage();
    const t0 = performance.now();
    await page.goto(pathToFileURL(path.resolve(file)).href);
    await page.waitForFunction(() => document.body.dataset.ready === '1', null, { timeout: 120_000 });
    times.push((performance.now() - t0) / 1000);
    ({ ok, all } = await page.evaluate(() => {
      const plots = [...document.querySelectorAll('[data-state]')];
      return { ok: plots.filter((p) => p.getAttribute('data-state') === 'ok').length, all: plots.length };
    }));
    await page.close();
  }
  times.sort((a, b) => a - b);
  process.stdout.write(`${times[Math.floor((times.length - 1) / 2)].toFixed(2)} ${ok}/${all}\n`);
} finally {
  await context.close();
  fs.rmSync(profile, { recursive: true, force: true });
}
