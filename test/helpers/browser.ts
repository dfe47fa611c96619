import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { pathToFileURL } from 'node:url';
import { chromium, type BrowserContext } from 'playwright-core';

/**
 * Debian's Chromium driven headless through playwright-core, for checking the pages `rvc plots`
 * writes: every plot settled and drew marks, no console error, no request left the disk.
 */

const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync'];

function chromiumPath(): string | undefined {
  if (fs.existsSync('/usr/bin/chromium')) return '/usr/bin/chromium';
  for (const name of ['chromium', 'chromium-browser']) {
    try {
      const p = execFileSync('which', [name], { encoding: 'utf8' }).trim();
      if (p) return p;
    } catch {
      // not on PATH
    }
  }
  return undefined;
}

export interface Browser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** A headless Chromium with a fresh profile, or the reason it cannot start. */
export async function startBrowser(): Promise<Browser | { skip: string }> {
  const exe = chromiumPath();
  if (!exe) return { skip: 'Chromium is not installed (no /usr/bin/chromium, none on PATH)' };
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'rvc-chromium-'));
  try {
    const context = await chromium.launchPersistentContext(profile, { executablePath: exe, headless: true, args: ARGS });
    return {
      context,
      close: async () => {
        await context.close();
        fs.rmSync(profile, { recursive: true, force: true });
      },
    };
  } catch (e) {
    fs.rmSync(profile, { recursive: true, force: true });
    return { skip: `Chromium (${exe}) could not start: ${(e as Error).message.split('\n')[0]}` };
  }
}

export interface PlotState {
  id: string;
  state: string | undefined;
  marks: number;
  text: string;
}

export interface PageReport {
  plots: PlotState[];
  /** Requests for anything but file: and data: URLs (each was refused). */
  network: string[];
  consoleErrors: string[];
}

/** Opens a page from disk, waits until every plot settled, and reports each plot's state. */
export async function inspectPage(b: Browser, file: string, screenshot?: string): Promise<PageReport> {
  const page = await b.context.newPage();
  const network: string[] = [];
  const consoleErrors: string[] = [];
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:') || url.startsWith('data:')) return route.continue();
    network.push(url);
    return route.abort();
  });
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  try {
    await page.setViewportSize({ width: 1100, height: 800 });
    await page.goto(pathToFileURL(file).href);
    await page.waitForFunction(() => document.body.dataset.ready === '1');
    const plots = await page.$$eval('[data-plot-id]', (els) => els.map((e) => {
      const el = e as HTMLElement;
      return { id: el.dataset.plotId!, state: el.dataset.state, marks: Number(el.dataset.marks ?? '0'), text: el.textContent ?? '' };
    }));
    if (screenshot) await page.screenshot({ path: screenshot, fullPage: true });
    return { plots, network, consoleErrors };
  } finally {
    await page.close();
  }
}
