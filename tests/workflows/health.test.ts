/**
 * The health workflow: linted, and every path run on the local engine with the real handlers —
 * real probes against an HTTP server on 127.0.0.1 and real bash on a local host, the file state
 * store, the outbox and the recorded recovery requests under a temporary STEPOPS_HOME.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import aslLanguageService from 'amazon-states-language-service';
import aslValidator from 'asl-validator';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { recordLocalRun } from '../../cli/runs/local.ts';
import { createLocalHealthEngine, HANDLERS, LOCAL_HEALTH_ARNS } from '../../functions/index.ts';
import { clearRegisteredTargets, registerTarget } from '../../shared/config/registry.ts';
import { FileLeaseStore } from '../../shared/drivers/local/file-lease-store.ts';
import { readOutbox } from '../../shared/drivers/local/outbox-notifier.ts';
import type { Notification } from '../../shared/drivers/ports.ts';
import { inspectDefinition, type LambdaHandler } from '../../shared/engine/index.ts';
import type { HealthRunSummary } from '../../shared/health/contracts.ts';
import { TRANSIENT_LAMBDA_ERRORS } from '../../workflows/asl.ts';
import { type HEALTH_FUNCTIONS, HEALTH_TASK_TIMEOUTS, healthWorkflow } from '../../workflows/health.ts';

const { getLanguageService, TextDocument } = aslLanguageService;
const definition = healthWorkflow(LOCAL_HEALTH_ARNS);

describe('health workflow definition', () => {
  it('passes asl-validator and the language service', async () => {
    const { isValid, errorsText } = aslValidator(definition as never, { checkArn: true, checkPaths: true });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
    const service = getLanguageService({});
    const document = TextDocument.create('file:///health.asl.json', 'json', 1, JSON.stringify(definition));
    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
    expect(diagnostics.map((d) => d.message)).toEqual([]);
  });

  it('uses nothing the local engine refuses, and every Task has a timeout, the retry and a catch that notifies', () => {
    expect(inspectDefinition(definition).offences).toEqual([]);
    expect(JSON.stringify(definition)).not.toMatch(/JSONata|"Assign"|waitForTaskToken|\.sync|DISTRIBUTED/);
    const tasks = Object.entries(definition.States).filter(([, s]) => s.Type === 'Task');
    expect(tasks.map(([name]) => name).sort()).toEqual(['CheckTarget', 'NotifyFailure', 'PublishStatusPage']);
    // The one catch that does not notify: a status page not published does not fail or alert the run.
    const catchTo: Record<string, string> = {
      CheckTarget: 'NotifyFailure',
      NotifyFailure: 'CheckFailed',
      PublishStatusPage: 'StatusPageNotPublished',
    };
    for (const [name, state] of tasks) {
      if (state.Type !== 'Task') continue;
      const fn = state.Resource.split(':').at(-1) as (typeof HEALTH_FUNCTIONS)[number];
      expect(state.TimeoutSeconds, name).toBe(HEALTH_TASK_TIMEOUTS[fn]);
      expect(state.Retry?.at(-1)?.ErrorEquals, name).toEqual([...TRANSIENT_LAMBDA_ERRORS]);
      expect(state.Catch?.[0]?.Next, name).toBe(catchTo[name]);
    }
    expect(definition.States.StatusPageNotPublished).toMatchObject({ Type: 'Pass', Next: 'Checked' });
    // An Express run lasts at most 5 minutes: the longest path stays under it.
    const longest =
      HEALTH_TASK_TIMEOUTS['check-target'] +
      Math.max(HEALTH_TASK_TIMEOUTS['notify-health-failure'], HEALTH_TASK_TIMEOUTS['publish-status-page']);
    expect(longest).toBeLessThan(300);
  });
});

describe('health workflow paths on the local engine', () => {
  let server: Server;
  let base: string;
  let root: string;
  let app: 'up' | 'down' = 'up';
  const previousHome = process.env.STEPOPS_HOME;
  const engine = createLocalHealthEngine();

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'stepops-health-wf-'));
    process.env.STEPOPS_HOME = path.join(root, 'home');
    await mkdir(path.join(root, 'host'), { recursive: true });
    server = createServer((_req, res) => {
      if (app === 'up') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
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
      description: 'health workflow test target',
      hosts: { type: 'local', directory: path.join(root, 'host') },
      health: {
        schedule: 'rate(1 minute)',
        failureThreshold: 2,
        successThreshold: 1,
        probes: [
          {
            name: 'site',
            type: 'http',
            url: `${base}/health`,
            jsonField: { path: 'status', equals: 'ok' },
            timeout: 5,
          },
          { name: 'local-site', type: 'http', from: 'host', url: `${base}/health`, timeout: 5 },
          { name: 'disk', type: 'disk', mount: '/', maxUsedPercent: 100 },
        ],
        onFailure: { runbook: 'restart-app', cooldownMinutes: 30, maxPerDay: 3 },
      },
      recovery: {
        'restart-app': {
          description: 'restart the app',
          steps: [{ type: 'script', name: 'restart', script: 'true', timeout: 30 }],
        },
      },
    });
  }

  async function outbox(): Promise<Notification[]> {
    return readOutbox(path.join(root, 'home'));
  }

  async function run(target: string, name: string) {
    return engine.start({ target }, { executionName: name }).result;
  }

  it('records passing rounds silently, alerts once when the threshold is crossed, starts the runbook, and alerts the recovery', async () => {
    // Prepare
    register('wf-health');
    app = 'up';

    // Act
    const first = await run('wf-health', 'h-1');
    app = 'down';
    const failing = await run('wf-health', 'h-2');
    const down = await run('wf-health', 'h-3');
    const stillDown = await run('wf-health', 'h-4');
    app = 'up';
    const back = await run('wf-health', 'h-5');

    // Assess
    expect([first, failing, down, stillDown, back].map((r) => r.status)).toEqual(Array(5).fill('SUCCEEDED'));
    expect((first.output as HealthRunSummary).events).toEqual([]);
    expect((failing.output as HealthRunSummary).events).toEqual([]);
    const downSummary = down.output as HealthRunSummary;
    expect(downSummary.events.map((e) => [e.kind, e.probe, e.alerted])).toEqual([
      ['down', 'site', true],
      ['down', 'local-site', true],
    ]);
    expect(downSummary.recovery).toMatchObject({ runbook: 'restart-app', started: true });
    expect((stillDown.output as HealthRunSummary).recovery).toMatchObject({
      started: false,
      why: expect.stringMatching(/cooldown 30 min/),
    });
    expect((back.output as HealthRunSummary).events.map((e) => [e.kind, e.probe])).toEqual([
      ['up', 'site'],
      ['up', 'local-site'],
    ]);
    const alerts = (await outbox()).filter((n) => n.target === 'wf-health');
    // One message per round, listing what changed.
    expect(alerts.map((n) => [n.outcome, n.failedState])).toEqual([
      ['failed', 'site, local-site'],
      ['succeeded', 'site, local-site'],
    ]);
    expect(alerts[0]?.summary).toMatch(
      /^wf-health: 2 health changes: site is down: expected status 200, got 503 \(condition: GET .*; failing since .*, 2 checks in a row\); local-site on local:.* is down: .*; started recovery runbook restart-app/,
    );
    expect(alerts[1]?.summary).toMatch(
      /^wf-health: 2 health changes: site is up again after \d+ s down: 200 in \d+ ms; local-site/,
    );
    const requests = (await readFile(path.join(root, 'home', 'recoveries.jsonl'), 'utf8')).trim().split('\n');
    expect(requests).toHaveLength(1);
    expect(JSON.parse(requests[0]!)).toMatchObject({
      target: 'wf-health',
      runbook: 'restart-app',
      runId: 'h-3',
    });
  });

  it('records but does not alert while a run holds the target, and says so when it ends still down', async () => {
    // Prepare
    register('wf-maint');
    app = 'down';
    const leases = path.join(root, 'home', 'leases');
    await mkdir(leases, { recursive: true });
    const lease = path.join(leases, 'target_wf-maint.json');
    await writeFile(
      lease,
      JSON.stringify({ key: 'target:wf-maint', owner: 'deploy-run-7', expiresAt: Date.now() / 1000 + 600 }),
    );

    // Act
    const during = [await run('wf-maint', 'm-1'), await run('wf-maint', 'm-2')];
    await rm(lease);
    const after = await run('wf-maint', 'm-3');

    // Assess
    const downInWindow = during[1]?.output as HealthRunSummary;
    expect(downInWindow.maintenance).toBe('run deploy-run-7 (a deploy, recovery or maintenance of wf-maint)');
    expect(downInWindow.events.map((e) => [e.kind, e.alerted])).toEqual([
      ['down', false],
      ['down', false],
    ]);
    expect(downInWindow.recovery).toMatchObject({
      started: false,
      why: expect.stringMatching(/^not started during run deploy-run-7/),
    });
    const afterSummary = after.output as HealthRunSummary;
    expect(afterSummary.events.map((e) => [e.kind, e.probe, e.alerted])).toEqual([
      ['still-down', 'site', true],
      ['still-down', 'local-site', true],
    ]);
    const alerts = (await outbox()).filter((n) => n.target === 'wf-maint');
    expect(alerts.map((n) => n.summary)).toEqual([
      expect.stringMatching(
        /^wf-maint: 2 health changes: site is still down after run deploy-run-7 .* ended: expected status 200, got 503.*; local-site on local:.* is still down after run deploy-run-7/,
      ),
    ]);
  });

  it('mutes while the local run its lease names runs, and nothing once that run was stopped (its lease left behind)', async () => {
    // Prepare: a local deploy run, recorded as the CLI records it, holds the target's lease that
    // names its execution as the local engine gives it (its name is the run id)
    register('wf-local-run');
    app = 'down';
    const runId = 'wf-local-run-3f2a';
    const recording = recordLocalRun('deploy', { target: 'wf-local-run', runId });
    const leases = new FileLeaseStore();
    await leases.acquire('target:wf-local-run', runId, 600, {
      execution: `arn:aws:states:local:000000000000:execution:stepops-deploy:${runId}`,
    });

    // Act
    const during = [await run('wf-local-run', 'l-1'), await run('wf-local-run', 'l-2')];
    recording.finish({ status: 'FAILED', error: 'States.Aborted' });
    const stopped = await run('wf-local-run', 'l-3');

    // Assess: muted while the run ran; once stopped, its leftover lease mutes neither alerts nor recovery
    const muted = during[1]?.output as HealthRunSummary;
    expect(muted.maintenance).toBe(`run ${runId} (a deploy, recovery or maintenance of wf-local-run)`);
    expect(muted.events.map((e) => [e.kind, e.alerted])).toEqual([
      ['down', false],
      ['down', false],
    ]);
    expect((await leases.holder('target:wf-local-run'))?.owner).toBe(runId);
    const after = stopped.output as HealthRunSummary;
    expect(after.maintenance).toBeUndefined();
    expect(after.events.map((e) => [e.kind, e.probe, e.alerted])).toEqual([
      ['still-down', 'site', true],
      ['still-down', 'local-site', true],
    ]);
    expect(after.recovery).toMatchObject({ runbook: 'restart-app', started: true });
    await leases.release('target:wf-local-run', runId);
  });

  it('retries a check whose invocation failed after it recorded, and counts the round once', async () => {
    // Prepare
    register('wf-retried');
    app = 'down';
    let attempts = 0;
    const recordsThenFails: LambdaHandler = async (event, context) => {
      attempts += 1;
      const summary = await HANDLERS['check-target'](event, context);
      if (attempts > 1) return summary;
      throw Object.assign(new Error('the Lambda service failed'), { name: 'Lambda.ServiceException' });
    };

    // Act
    const retried = await engine.start(
      { target: 'wf-retried' },
      { executionName: 'r-1', handlerOverrides: { [LOCAL_HEALTH_ARNS['check-target']]: recordsThenFails } },
    ).result;
    const next = await run('wf-retried', 'r-2');

    // Assess: failureThreshold 2, so a round counted twice would turn the probes down in r-1
    expect(attempts).toBe(2);
    expect(retried.status).toBe('SUCCEEDED');
    expect((retried.output as HealthRunSummary).events).toEqual([]);
    expect((next.output as HealthRunSummary).events.map((e) => [e.kind, e.probe])).toEqual([
      ['down', 'site'],
      ['down', 'local-site'],
    ]);
  });

  it('notifies and fails when a step cannot run', async () => {
    // Prepare
    register('wf-broken');

    // Act
    const result = await engine.start(
      { target: 'wf-broken' },
      {
        executionName: 'b-1',
        handlerOverrides: {
          [LOCAL_HEALTH_ARNS['check-target']]: async () => {
            throw Object.assign(new Error('EC2 throttled'), { name: 'ThrottlingException' });
          },
        },
      },
    ).result;
    const unknown = await run('no-such-target', 'b-2');

    // Assess
    expect(result).toMatchObject({ status: 'FAILED', error: 'HealthCheckFailedError' });
    expect(unknown).toMatchObject({ status: 'FAILED', error: 'HealthCheckFailedError' });
    const alerts = (await outbox()).filter((n) => n.runId === 'b-1' || n.runId === 'b-2');
    expect(alerts.map((n) => [n.target, n.failedState, n.error])).toEqual([
      ['wf-broken', 'CheckTarget', 'ThrottlingException'],
      ['no-such-target', 'CheckTarget', 'UnknownTargetError'],
    ]);
    expect(alerts[0]?.summary).toBe(
      'health check of wf-broken could not run: CheckTarget failed with ThrottlingException',
    );
  });
});
