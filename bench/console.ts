/**
 * The console's page weight and time to first render: the demo runs in a temporary lab (`stepops
 * demo` in a child process), the console serves its state, and headless chromium (Debian's, driven
 * by puppeteer-core) loads each page several times, reading the bytes it received, the requests it
 * made, the server's time to the first byte and the first contentful paint from the page's own
 * Performance API. Also what `npm run screenshots` uses to set the lab up.
 */
import { spawn } from 'node:child_process';
import { access, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser } from 'puppeteer-core';
import { type ConsoleServer, consoleData, startConsole, writeStatusPage } from '../cli/commands/console.ts';
import { stopLabApp } from '../lab/setup.ts';
import { labTarget } from '../lab/target.ts';
import { PROJECT_ROOT } from '../shared/config/load.ts';
import { registerTarget } from '../shared/config/registry.ts';
import { median } from './stats.ts';

/** Debian's chromium: the browser the tests and the bench drive (none is downloaded). */
export const CHROMIUM = '/usr/bin/chromium';

/** The demo's lab with the console serving it and a browser. */
export interface ConsoleLab {
  dir: string;
  console: ConsoleServer;
  browser: Browser;
  /** Base URL of the console (the access cookie is set by opening {@link ConsoleServer.url} first). */
  base: string;
  /** The run id of the demo's rolled-back deploy of v3. */
  failedDeploy: string;
  close(): Promise<void>;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * Runs the demo in a temporary lab, then serves its state with the console and opens chromium.
 *
 * @throws Error when chromium is missing or the demo fails
 */
export async function openConsoleLab(log: (line: string) => void = () => {}): Promise<ConsoleLab> {
  await access(CHROMIUM).catch(() => {
    throw new Error(`${CHROMIUM} not found (Debian package chromium)`);
  });
  const root = await mkdtemp(path.join(tmpdir(), 'stepops-console-lab-'));
  const dir = path.join(root, 'lab');
  // The demo records its runs in its state directory, here its own beside the lab.
  const home = path.join(root, 'state');
  const port = await freePort();
  log(`[console] running the demo in ${dir}`);
  const code = await new Promise<number | null>((resolve, reject) => {
    const child = spawn(
      path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node'),
      [path.join(PROJECT_ROOT, 'cli', 'stepops.ts'), 'demo'],
      {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          STEPOPS_HOME: home,
          STEPOPS_DEMO_DIR: dir,
          STEPOPS_DEMO_PORT: String(port),
          CI: '1',
          FORCE_COLOR: '0',
        },
        stdio: 'ignore',
      },
    );
    child.once('error', reject);
    child.once('close', resolve);
  });
  if (code !== 0) throw new Error(`stepops demo exited with ${code}`);
  process.env.STEPOPS_HOME = home;
  process.env.STEPOPS_DEMO_DIR = dir;
  process.env.STEPOPS_DEMO_PORT = String(port);
  registerTarget(labTarget({ name: 'demo', dir, port }));
  const data = await consoleData({ local: true });
  await writeStatusPage(data);
  const runs = await data.source.list('deploy', { target: 'demo', limit: 10 });
  const failed = runs.find((r) => r.status === 'FAILED');
  if (!failed) throw new Error('the demo recorded no failed deploy');
  const server = await startConsole(data, { by: 'stepops bench' });
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
  });
  return {
    dir,
    console: server,
    browser,
    base: `http://127.0.0.1:${server.port}`,
    failedDeploy: failed.runId,
    close: async () => {
      await browser.close();
      await server.close();
      await stopLabApp(dir).catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  };
}

/** One page's measurements (medians over the samples). */
export interface ConsolePageResult {
  page: string;
  path: string;
  /** Bytes of the HTML document (the page loads nothing else). */
  bytes: number;
  /** Requests the page made (the document included). */
  requests: number;
  /** Navigation start to the first byte of the response (the server reading the state and rendering). */
  firstByteMs: number;
  /** Navigation start to the first contentful paint. */
  firstPaintMs: number;
  firstPaintRangeMs: [number, number];
}

/** The console section of the results. */
export interface ConsoleSection {
  status: 'ok';
  samplesPerPage: number;
  browser: string;
  pages: ConsolePageResult[];
}

/**
 * Measures each console page and the status page.
 *
 * @example
 * const section = await benchConsole({ quick: true, log: console.error });
 */
export async function benchConsole(options: {
  quick: boolean;
  log: (line: string) => void;
}): Promise<ConsoleSection> {
  const lab = await openConsoleLab(options.log);
  try {
    const samples = options.quick ? 3 : 10;
    const page = await lab.browser.newPage();
    await page.goto(lab.console.url, { waitUntil: 'load' });
    const targets: [string, string][] = [
      ['overview', '/'],
      ['target', '/targets/demo'],
      ['run', `/runs/${lab.failedDeploy}`],
      ['approvals', '/approvals'],
      ['status page', '/status'],
    ];
    const pages: ConsolePageResult[] = [];
    for (const [name, route] of targets) {
      const bytes: number[] = [];
      const requests: number[] = [];
      const firstByte: number[] = [];
      const firstPaint: number[] = [];
      for (let i = 0; i < samples; i++) {
        let count = 0;
        const onRequest = () => {
          count++;
        };
        page.on('request', onRequest);
        // A fresh document each time: about:blank between loads, so that paint entries are new.
        await page.goto('about:blank');
        const response = await page.goto(`${lab.base}${route}`, { waitUntil: 'load' });
        page.off('request', onRequest);
        if (!response?.ok()) throw new Error(`${route}: HTTP ${response?.status()}`);
        bytes.push((await response.buffer()).length);
        requests.push(count);
        const timing = await page.evaluate(() => {
          const nav = performance.getEntriesByType('navigation')[0] as PerformanceNavigationTiming;
          const paint = performance.getEntriesByName('first-contentful-paint')[0];
          return { firstByte: nav.responseStart, paint: paint?.startTime ?? Number.NaN };
        });
        firstByte.push(timing.firstByte);
        if (Number.isFinite(timing.paint)) firstPaint.push(timing.paint);
      }
      if (firstPaint.length === 0) throw new Error(`${route}: chromium reported no first contentful paint`);
      pages.push({
        page: name,
        path: route.startsWith('/runs/') ? '/runs/<failed deploy>' : route,
        bytes: median(bytes),
        requests: median(requests),
        firstByteMs: median(firstByte),
        firstPaintMs: median(firstPaint),
        firstPaintRangeMs: [Math.min(...firstPaint), Math.max(...firstPaint)],
      });
      options.log(`[console] ${name}: ${median(bytes)} B, first paint ${median(firstPaint).toFixed(0)} ms`);
    }
    return { status: 'ok', samplesPerPage: samples, browser: await lab.browser.version(), pages };
  } finally {
    await lab.close();
  }
}
