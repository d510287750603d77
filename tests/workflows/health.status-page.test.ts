/**
 * The health workflow publishes the public status page: on the local engine with the real handlers
 * (real HTTP probes of a server on 127.0.0.1, the file state store, the local page file under a
 * temporary STEPOPS_HOME). A round that changes a public probe publishes at once; an unchanged one
 * publishes only once the interval has passed; a publish that fails leaves the run succeeded,
 * with the failure in its output and no alert.
 */
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createLocalHealthEngine, LOCAL_HEALTH_ARNS } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import { FileHealthStore } from '../../shared/drivers/local/file-health-store.ts';
import { readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import { localArns } from '../../workflows/asl.ts';
import { healthWorkflow } from '../../workflows/health.ts';

interface RunOutput {
  publishStatus?: boolean;
  statusPage?: {
    published: boolean;
    location?: string;
    targets?: number;
    failure?: { Error: string; Cause?: string };
  };
}

describe('the health workflow without a status page', () => {
  it('has no publish step and does not ask check-target to decide one', () => {
    // Prepare: a stage deployed with STEPOPS_STATUS_PAGE off has no publish-status-page function
    const arns = localArns(['check-target', 'notify-health-failure'] as const);

    // Act
    const definition = healthWorkflow(arns);

    // Assess
    expect(Object.keys(definition.States).sort()).toEqual([
      'CheckFailed',
      'CheckTarget',
      'Checked',
      'NotifyFailure',
    ]);
    expect(definition.States.CheckTarget).toMatchObject({
      Next: 'Checked',
      Parameters: { 'target.$': '$.target', 'runId.$': '$$.Execution.Name' },
    });
    expect(JSON.stringify(definition.States.CheckTarget)).not.toContain('statusPageEverySeconds');
  });

  it('with the function, tells check-target the 5-minute interval and chooses on its decision', () => {
    const definition = healthWorkflow(LOCAL_HEALTH_ARNS);
    expect(definition.States.CheckTarget).toMatchObject({
      Next: 'PublishStatus',
      Parameters: { statusPageEverySeconds: 300 },
    });
    expect(definition.States.PublishStatus).toMatchObject({ Type: 'Choice', Default: 'Checked' });
  });
});

describe('the health workflow publishing the status page on the local engine', () => {
  let server: Server;
  let base: string;
  let root: string;
  let app: 'up' | 'down' = 'up';
  const previousHome = process.env.STEPOPS_HOME;
  const engine = createLocalHealthEngine();

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-health-page-'));
    process.env.STEPOPS_HOME = path.join(root, 'home');
    server = createServer((_req, res) => {
      if (app === 'up') res.writeHead(200).end('ok');
      else res.writeHead(503).end('down');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    if (previousHome === undefined) delete process.env.STEPOPS_HOME;
    else process.env.STEPOPS_HOME = previousHome;
    await rm(root, { recursive: true, force: true });
  });
  afterEach(() => clearRegisteredTargets());

  function register(name: string): void {
    registerTarget({
      name,
      description: 'status page test target',
      hosts: { type: 'local', directory: root },
      health: {
        schedule: 'rate(1 minute)',
        failureThreshold: 1,
        successThreshold: 1,
        probes: [
          { name: 'storefront', type: 'http', url: `${base}/health`, timeout: 5 },
          { name: 'internal-api', type: 'http', from: 'host', url: `${base}/internal`, timeout: 5 },
        ],
      },
    });
  }

  const page = () => readFile(path.join(root, 'home', 'status', 'local', 'index.html'), 'utf8');

  it('publishes on the first round and on a change, not on an unchanged round within the interval', async () => {
    // Prepare
    register('page-shop');
    app = 'up';

    // Act
    const first = await engine.start({ target: 'page-shop' }, { executionName: 'p-1' }).result;
    const firstPage = await page();
    const firstWritten = (await stat(path.join(root, 'home', 'status', 'local', 'index.html'))).mtimeMs;
    const unchanged = await engine.start({ target: 'page-shop' }, { executionName: 'p-2' }).result;
    const afterUnchanged = (await stat(path.join(root, 'home', 'status', 'local', 'index.html'))).mtimeMs;
    app = 'down';
    const down = await engine.start({ target: 'page-shop' }, { executionName: 'p-3' }).result;
    const downPage = await page();

    // Assess
    expect([first.status, unchanged.status, down.status]).toEqual(['SUCCEEDED', 'SUCCEEDED', 'SUCCEEDED']);
    const [a, b, c] = [first.output, unchanged.output, down.output] as RunOutput[];
    expect(a?.publishStatus).toBe(true);
    expect(a?.statusPage).toMatchObject({
      published: true,
      location: path.join(root, 'home', 'status', 'local', 'index.html'),
    });
    expect(b?.publishStatus).toBe(false);
    expect(b?.statusPage).toBeUndefined();
    expect(afterUnchanged).toBe(firstWritten);
    expect(c?.publishStatus).toBe(true);
    expect(c?.statusPage?.published).toBe(true);
    // What a person sees: the public probe, up then down; never the host probe or a URL.
    expect(firstPage).toContain('storefront');
    expect(firstPage).toContain('✔ All systems up');
    expect(downPage).toContain('✖ Down now: page-shop storefront');
    for (const html of [firstPage, downPage]) {
      expect(html).not.toContain('internal-api');
      expect(html).not.toContain('127.0.0.1');
    }
  });

  it('publishes an unchanged page again once the interval has passed', async () => {
    // Prepare
    register('page-later');
    app = 'up';
    await engine.start({ target: 'page-later' }, { executionName: 'l-1' }).result;
    const within = await engine.start({ target: 'page-later' }, { executionName: 'l-2' }).result;

    // Act: the last publish recorded in the state is made 5 minutes old, then the next round
    const store = new FileHealthStore();
    const record = await store.read('page-later');
    const state = JSON.parse(record!.body) as { statusPublishedAt: string };
    const published = Date.parse(state.statusPublishedAt);
    state.statusPublishedAt = new Date(published - 300_000).toISOString();
    expect(await store.write('page-later', JSON.stringify(state), record!.version)).toBe(true);
    const later = await engine.start({ target: 'page-later' }, { executionName: 'l-3' }).result;

    // Assess
    expect((within.output as RunOutput).publishStatus).toBe(false);
    expect((later.output as RunOutput).publishStatus).toBe(true);
    expect((later.output as RunOutput).statusPage?.published).toBe(true);
  });

  it('succeeds with the failure in its output, and alerts nothing, when the publish fails', async () => {
    // Prepare
    register('page-broken');
    app = 'up';
    const before = (await readOutbox(path.join(root, 'home'))).length;

    // Act
    const result = await engine.start(
      { target: 'page-broken' },
      {
        executionName: 'x-1',
        handlerOverrides: {
          [LOCAL_HEALTH_ARNS['publish-status-page']]: async () => {
            throw Object.assign(new Error('Access Denied'), { name: 'AccessDenied' });
          },
        },
      },
    ).result;

    // Assess
    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as RunOutput & { up: number };
    expect(output.up).toBe(2);
    expect(output.statusPage).toMatchObject({ published: false, failure: { Error: 'AccessDenied' } });
    expect(await readOutbox(path.join(root, 'home'))).toHaveLength(before);
  });
});
