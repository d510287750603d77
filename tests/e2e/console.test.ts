/// <reference lib="dom" />
/**
 * The console and the status page in a real headless browser (Debian's chromium, driven by
 * puppeteer-core): the demo runs first in a temporary lab (`stepops demo` in a child process, as a
 * user runs it), then the console serves that lab's state and the tests look at what a person sees.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type ConsoleServer,
  consoleData,
  startConsole,
  writeStatusPage,
} from '../../cli/commands/console.ts';
import { type RecoverRunReport, runRecover } from '../../cli/commands/recover.ts';
import { recordLocalRun } from '../../cli/runs/local.ts';
import { stopLabApp } from '../../lab/setup.ts';
import { labTarget } from '../../lab/target.ts';
import { PROJECT_ROOT } from '../../shared/config/load.ts';
import { registerTarget } from '../../shared/config/registry.ts';
import { freePort } from '../helpers/net.ts';

const NODE = path.join(PROJECT_ROOT, 'node_modules', '.bin', 'node');
const CLI = path.join(PROJECT_ROOT, 'cli', 'stepops.ts');
const CHROMIUM = '/usr/bin/chromium';

function runDemo(
  dir: string,
  port: number,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [CLI, 'demo'], {
      cwd: PROJECT_ROOT,
      env: {
        ...process.env,
        // The demo's state and its lab in one directory, which the console then reads.
        STEPOPS_HOME: dir,
        STEPOPS_DEMO_DIR: dir,
        STEPOPS_DEMO_PORT: String(port),
        CI: '1',
        FORCE_COLOR: '0',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The visible text of the page's main content. */
async function mainText(page: Page): Promise<string> {
  return page.$eval('main', (m) => (m as HTMLElement).innerText);
}

describe('stepops console and status page in a browser', () => {
  let root: string;
  let dir: string;
  let port: number;
  let consoleServer: ConsoleServer;
  let browser: Browser;
  let page: Page;
  let base: string;
  const saved = {
    home: process.env.STEPOPS_HOME,
    demoDir: process.env.STEPOPS_DEMO_DIR,
    demoPort: process.env.STEPOPS_DEMO_PORT,
  };

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-console-'));
    dir = path.join(root, 'lab');
    port = await freePort();
    const demo = await runDemo(dir, port);
    expect(demo.code, demo.stdout + demo.stderr).toBe(0);
    // The console reads the lab's state as `stepops console` run in the lab's home does.
    process.env.STEPOPS_HOME = dir;
    process.env.STEPOPS_DEMO_DIR = dir;
    process.env.STEPOPS_DEMO_PORT = String(port);
    registerTarget(labTarget({ name: 'demo', dir, port }));
    consoleServer = await startConsole(await consoleData({ local: true }), { by: 'console test' });
    base = `http://127.0.0.1:${consoleServer.port}`;
    browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-dev-shm-usage'],
    });
    page = await browser.newPage();
  }, 240_000);

  afterAll(async () => {
    await browser?.close();
    await consoleServer?.close();
    await stopLabApp(dir).catch(() => undefined);
    process.env.STEPOPS_HOME = saved.home;
    process.env.STEPOPS_DEMO_DIR = saved.demoDir;
    process.env.STEPOPS_DEMO_PORT = saved.demoPort;
    if (saved.home === undefined) delete process.env.STEPOPS_HOME;
    if (saved.demoDir === undefined) delete process.env.STEPOPS_DEMO_DIR;
    if (saved.demoPort === undefined) delete process.env.STEPOPS_DEMO_PORT;
    await rm(root, { recursive: true, force: true });
  }, 60_000);

  it('listens on 127.0.0.1 only and refuses requests without the access token', async () => {
    expect(consoleServer.server.address()).toMatchObject({ address: '127.0.0.1' });
    expect(consoleServer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
    expect((await fetch(`${base}/`)).status).toBe(401);
    expect((await fetch(`${base}/?token=not-the-token`)).status).toBe(403);
    expect((await fetch(`${base}/`, { headers: { cookie: 'stepops_console=wrong' } })).status).toBe(403);
    // A page of another site that resolves its name to 127.0.0.1 (DNS rebinding) sends its own Host.
    const rebound = await new Promise<number | undefined>((resolve, reject) => {
      request(consoleServer.url, { headers: { host: `attacker.example:${consoleServer.port}` } }, (res) => {
        res.resume();
        resolve(res.statusCode);
      })
        .once('error', reject)
        .end();
    });
    expect(rebound).toBe(403);
  });

  it('shows the overview after the demo: the demo target in red for its rolled-back deploy', async () => {
    await page.goto(consoleServer.url, { waitUntil: 'load' });
    // The token moved to a cookie: it is not left in the address bar.
    expect(page.url()).toBe(`${base}/`);
    const text = await mainText(page);
    expect(text).toContain('Overview');
    expect(text).toMatch(/1 of 1 target needs a person: demo/);
    expect(text).toContain('needs a person: last deploy of v3 FAILED (DeployFailedError)');
    const row = await page.$eval('tr[data-target="demo"]', (tr) => ({
      attention: tr.classList.contains('attention'),
      background: getComputedStyle(tr.querySelector('td')!).backgroundColor,
      text: (tr as HTMLElement).innerText,
    }));
    expect(row.attention).toBe(true);
    expect(row.background).toBe('rgb(253, 232, 234)');
    expect(row.text).toContain('✔ up');
    expect(row.text).toMatch(/✔ \S+: (just now|\d)/);
    // Keyboard: the target's link is reachable with Tab and opens with Enter.
    let focused = '';
    for (let i = 0; i < 10 && focused !== '/targets/demo'; i++) {
      await page.keyboard.press('Tab');
      focused = await page.evaluate(
        () => (document.activeElement as HTMLAnchorElement | null)?.getAttribute('href') ?? '',
      );
    }
    expect(focused).toBe('/targets/demo');
    await Promise.all([page.waitForNavigation(), page.keyboard.press('Enter')]);
    expect(page.url()).toBe(`${base}/targets/demo`);
  });

  it('shows the failing target: why it needs a person, probes with uptime bars, runs, backups with restore tests', async () => {
    await page.goto(`${base}/targets/demo`, { waitUntil: 'load' });
    const text = await mainText(page);
    expect(text).toContain('Needs a person: last deploy of v3 FAILED (DeployFailedError)');
    expect(text).toMatch(/app-health\s+✔ up/);
    expect(await page.$$eval('svg[role="img"] rect', (r) => r.length)).toBeGreaterThanOrEqual(90);
    expect(text).toMatch(/FAILED DeployFailedError\s+v3/);
    expect(text).toContain('Restore test');
    expect(text).toMatch(/\tSUCCEEDED (\d+(\.\d+)? (s|ms|min) ago|just now)/);
    expect(text).toContain('restart-app');
    expect(text).toMatch(/Change failure rate\s+50 % \(1 of 2, 1 rolled back\)/);
    // The latency chart of the demo's probe, from today's counts in the health state: server-rendered SVG.
    const newest = await page.$$eval('table[aria-label="latency"] tbody tr', (rows) =>
      rows.map((r) => [...r.querySelectorAll('td')].map((td) => (td as HTMLElement).innerText.trim())),
    );
    const appHealth = newest.find((cells) => cells[0] === 'app-health');
    expect(appHealth?.[2]).toMatch(
      /^\d{4}-\d{2}-\d{2}\s+p50 ≤ \d+ (ms|s)\s+p95 ≤ \d+ (ms|s)\s+p99 ≤ \d+ (ms|s)$/,
    );
    const chart = await page.$eval('svg.latency[aria-label^="app-health latency over 30 days"]', (svg) => ({
      label: svg.getAttribute('aria-label') ?? '',
      dots: svg.querySelectorAll('circle').length,
      height: svg.getBoundingClientRect().height,
    }));
    expect(chart.dots).toBeGreaterThanOrEqual(1);
    expect(chart.height).toBeGreaterThan(50);
    expect(chart.label).toMatch(/p50 ≤ \d+ (ms|s), p95 ≤ \d+ (ms|s), p99 ≤ \d+ (ms|s)$/);
    // The failed deploy's page: the timeline, what failed, the hosts of the batch.
    const href = await page.$$eval('a', (links) =>
      links.map((a) => a.getAttribute('href') ?? '').find((h) => h.startsWith('/runs/') && h.length > 6),
    );
    expect(href).toBeDefined();
    const failedRun = await page.$$eval('tr', (rows) =>
      rows.map((r) => (r as HTMLElement).innerText).find((t) => t.includes('DeployFailedError')),
    );
    const runId = failedRun!.split(/\s/)[0]!;
    await page.goto(`${base}/runs/${runId}`, { waitUntil: 'load' });
    const run = await mainText(page);
    expect(run).toContain('✖ FAILED');
    expect(run).toContain('What failed');
    expect(run).toContain('HealthGateFailedError');
    expect(run).toMatch(/batch 1: local:\//);
    expect(
      await page.$eval('svg[aria-label^="timeline of"]', (s) => s.querySelectorAll('rect').length),
    ).toBeGreaterThan(5);
  });

  it('answers an approval from the page through the same path as stepops approve, and the run continues', async () => {
    const said: string[] = [];
    const running: Promise<RecoverRunReport> = runRecover({
      target: 'demo',
      runbook: 'restart-app',
      trigger: 'health-alert',
      reason: 'console test: app-health down',
      requestedBy: 'health alert',
      interactive: false,
      output: { out: (t) => said.push(t), err: (t) => said.push(t) },
      // Nobody answers here: the answer must come from the console.
      answer: async () => undefined,
    });
    let text = '';
    for (let i = 0; i < 60 && !text.includes('runbook restart-app'); i++) {
      await page.goto(`${base}/approvals`, { waitUntil: 'load' });
      text = await mainText(page);
      if (!text.includes('runbook restart-app')) await new Promise((r) => setTimeout(r, 500));
    }
    expect(text).toContain('demo: runbook restart-app');
    expect(text).toMatch(/stepops approve demo-[0-9a-f]{16}/);
    expect(text).toContain('Plan');
    expect(await page.$eval('label[for^="c-"]', (l) => (l as HTMLElement).innerText)).toBe(
      'Comment (optional)',
    );
    await page.type('input[name="comment"]', 'looked at it <b>fine</b>');
    await Promise.all([page.waitForNavigation(), page.click('button.approve')]);
    const answered = await mainText(page);
    expect(answered).toMatch(/approved run demo-[0-9a-f]{16}; the waiting run continues/);
    expect(answered).toContain('No approval is waiting.');
    const report = await running;
    expect(report.exitCode, said.join('\n')).toBe(0);
    expect(said.join('\n')).toContain('approval: approved by console test');
    const runId = report.executionName!;
    await page.goto(`${base}/runs/${runId}`, { waitUntil: 'load' });
    expect(await mainText(page)).toContain('✔ SUCCEEDED');
  }, 120_000);

  it('updates an open page when a run is recorded, without a reload', async () => {
    await page.goto(`${base}/targets/demo`, { waitUntil: 'load' });
    const navigations: string[] = [];
    const onNavigation = (frame: { url(): string }) => navigations.push(frame.url());
    page.on('framenavigated', onNavigation);
    expect(await mainText(page)).not.toContain('console test: recorded while open');
    const recording = recordLocalRun('backup', {
      target: 'demo',
      reason: 'console test: recorded while open',
    });
    recording.finish({ status: 'SUCCEEDED' });
    await page.waitForFunction(
      () => document.querySelector('main')?.textContent?.includes('console test: recorded while open'),
      { timeout: 60_000, polling: 500 },
    );
    page.off('framenavigated', onNavigation);
    expect(navigations).toEqual([]);
  }, 90_000);

  it('refuses an answer without the form token', async () => {
    await page.goto(`${base}/`, { waitUntil: 'load' });
    const status = await page.evaluate(async () => {
      const r = await fetch('/approvals/demo-0000000000000000', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: 'decision=approve',
      });
      return r.status;
    });
    expect(status).toBe(403);
  });

  it('renders the public status page with JavaScript off, with no internal address', async () => {
    // The demo's health runs published it already, through the health workflow's publish step.
    const published = await readFile(path.join(dir, 'status', 'local', 'index.html'), 'utf8');
    expect(published).toContain('Status: local');
    expect(published).toContain('app-health');
    const file = await writeStatusPage(await consoleData({ local: true }));
    expect(file).toBe(path.join(dir, 'status', 'local', 'index.html'));
    const offline = await browser.newPage();
    await offline.setJavaScriptEnabled(false);
    await offline.goto(`file://${file}`, { waitUntil: 'load' });
    const text = await offline.$eval('body', (b) => (b as HTMLElement).innerText);
    await offline.close();
    expect(text).toContain('Status: local');
    expect(text).toMatch(/app-health\s+✔ up/);
    expect(text).toMatch(/\d+(\.\d+)? %/);
    expect(text).toContain('Incidents');
    expect(text).toMatch(/app-health: down from \S+ to \S+/);
    expect(text).not.toContain('127.0.0.1');
    expect(text).not.toContain(dir);
  });
});
