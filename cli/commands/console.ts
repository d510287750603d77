/**
 * `stepops console [--stage S | --local]`: a web console on 127.0.0.1 (a random port, a random
 * access token in the printed URL) over what `status` and `history` read: the overview of every
 * target, one target, one run, the open approvals (answered through the same path as `stepops
 * approve|reject`). And `stepops status-page [--stage S | --local]`, which writes the public
 * status page under `.stepops/status/<where>/index.html`.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { findTarget, listTargets } from '../../shared/config/registry.ts';
import { nextScheduledRun, targetSchedules } from '../../shared/config/schedule.ts';
import type { Target } from '../../shared/config/schema.ts';
import { html, page } from '../../shared/console/html.ts';
import { LATENCY_DAYS, type LatencyDay, latencySeries } from '../../shared/console/latency.ts';
import {
  type ApprovalView,
  approvalsBody,
  consoleNav,
  type OverviewView,
  overviewBody,
  type ProbeView,
  type RunView,
  runBody,
  type TargetView,
  targetBody,
} from '../../shared/console/pages.ts';
import { batchHosts, firstFailure, outputTail, timelineBars } from '../../shared/console/run-detail.ts';
import {
  type PublicTarget,
  publicStatusOf,
  STATUS_DAYS,
  statusPageHtml,
} from '../../shared/console/status-page.ts';
import { FileHealthHistory } from '../../shared/drivers/local/file-health-history.ts';
import { FileStatusPagePublisher } from '../../shared/drivers/local/file-status-page.ts';
import { stepopsHome } from '../../shared/drivers/local/home.ts';
import { stageResourceNames } from '../../shared/drivers/options.ts';
import type { CatalogueEntry, HealthHistoryStore } from '../../shared/drivers/ports.ts';
import { type HealthDay, lastDays } from '../../shared/health/history.ts';
import { consoleUrl } from '../../shared/recovery/approval.ts';
import { dailyUptime, deliveryReport, incidentsOf } from '../../shared/report/dora.ts';
import { EXIT, type Output } from '../output.ts';
import {
  commitDirectory,
  commitTimes,
  type HealthStateView,
  outboxHealthAlerts,
  probeTransitions,
  readHealthState,
  targetRuns,
} from '../runs/history-reader.ts';
import type { RunSource, RunSummary } from '../runs/model.ts';
import { requester, runSourceFor, type SourceDeps, type WhereOptions } from '../runs/source.ts';
import { answerRun } from './recover.ts';
import { defaultCatalogue, newestGoodCopies } from './status.ts';

/** Seconds between two refreshes of an open page: local files are cheap, a stage's API calls are not. */
const POLL_SECONDS = { local: 5, stage: 30 } as const;
/** Runs read per workflow: for the overview, and for a target's page and its delivery metrics. */
const RUNS_PER_WORKFLOW = { overview: 10, target: 100 } as const;
/** Largest form body accepted, in bytes. */
const MAX_BODY = 8192;
const COOKIE = 'stepops_console';

/** What the console reads, for a stage or the local runs. */
export interface ConsoleData {
  source: RunSource;
  local: boolean;
  env: NodeJS.ProcessEnv;
  targets: () => Target[];
  now: () => number;
}

/** The targets that run where the source is (local hosts locally, AWS hosts on a stage). */
function targetsOf(local: boolean): Target[] {
  return listTargets()
    .map((name) => findTarget(name))
    .filter((t) => (t.hosts.type === 'local') === local);
}

function view(run: RunSummary): RunView {
  return { ...run };
}

type FullHealthState = HealthStateView & {
  probes?: Record<string, ProbeView>;
  maintenance?: { reason: string; since: string };
};

/**
 * The open approvals of a target: its running recovery runs whose approval request is pending and
 * not expired, with the plan the run recorded.
 */
async function openApprovals(
  data: ConsoleData,
  target: string,
  running: RunSummary[],
): Promise<ApprovalView[]> {
  const recovering = running.filter((r) => r.workflow === 'recover');
  // The store (a DynamoDB client on a stage) only when a recovery runs.
  if (recovering.length === 0) return [];
  const { approvalStoreFor } = await import('../../shared/drivers/approvals.ts');
  const store = approvalStoreFor();
  const nowSeconds = Math.floor(data.now() / 1000);
  const open: ApprovalView[] = [];
  for (const run of recovering) {
    const record = await store.get(run.runId).catch(() => undefined);
    if (record?.status !== 'pending' || record.expiresAt <= nowSeconds) continue;
    const reader = data.source.events(run);
    let planText: string | undefined;
    try {
      await reader.next();
      for (const e of reader.all) {
        const text = (e.output as { plan?: { planText?: unknown } } | undefined)?.plan?.planText;
        if (e.kind === 'state-exited' && typeof text === 'string') planText = text;
      }
    } catch {
      // The plan is shown as not recorded.
    }
    open.push({
      runId: run.runId,
      target,
      runbook: record.runbook,
      expiresAt: record.expiresAt,
      ...(planText ? { planText } : {}),
      ...(run.reason ? { reason: run.reason } : {}),
      ...(run.requestedBy ? { requestedBy: run.requestedBy } : {}),
    });
  }
  return open;
}

/**
 * A target's health state as the checks stored it; undefined when never checked, `unknown` when
 * the store cannot be read (no state table named, access denied, throttled): never shown as healthy.
 */
async function healthStateOf(
  target: Target,
  data: ConsoleData,
): Promise<FullHealthState | undefined | 'unknown'> {
  const table = data.env.STEPOPS_STATE_TABLE;
  if (!data.local && !table) return 'unknown';
  try {
    let store: { read(target: string): Promise<{ body: string } | undefined> };
    if (data.local) {
      store = new (await import('../../shared/drivers/local/file-health-store.ts')).FileHealthStore();
    } else {
      const [{ DynamoHealthStore }, { dynamoClient }, { stageRegion }] = await Promise.all([
        import('../../shared/drivers/aws/dynamo-health-store.ts'),
        import('../../shared/drivers/aws/clients.ts'),
        import('../stage.ts'),
      ]);
      store = new DynamoHealthStore(table!, { client: dynamoClient(stageRegion(data.env)) });
    }
    const record = await store.read(target.name);
    return record ? (JSON.parse(record.body) as FullHealthState) : undefined;
  } catch {
    return 'unknown';
  }
}

/**
 * Everything the console shows of one target.
 *
 * @example
 * const view = await targetView(data, findTarget('demo'), { report: true });
 */
export async function targetView(
  data: ConsoleData,
  target: Target,
  options: { report?: boolean } = {},
): Promise<TargetView> {
  const now = data.now();
  const runs = await targetRuns(
    data.source,
    target.name,
    STATUS_DAYS,
    now,
    options.report ? RUNS_PER_WORKFLOW.target : RUNS_PER_WORKFLOW.overview,
  );
  const running = runs.filter((r) => r.status === 'RUNNING');
  const lastDeploy = runs.find((r) => r.workflow === 'deploy' && r.status !== 'RUNNING');
  const read = await healthStateOf(target, data);
  const state = read === 'unknown' ? undefined : read;
  const probes: ProbeView[] | 'unknown' =
    read === 'unknown'
      ? 'unknown'
      : Object.values(state?.probes ?? {}).map((p) => ({
          probe: p.probe,
          ...(p.host ? { host: p.host } : {}),
          status: p.status,
          since: p.since,
          lastAt: p.lastAt,
          lastDetail: p.lastDetail,
          ...(p.lastOk !== undefined ? { lastOk: p.lastOk } : {}),
          ...(p.consecutiveFailures !== undefined ? { consecutiveFailures: p.consecutiveFailures } : {}),
        }));
  const alerts = data.local ? await outboxHealthAlerts() : [];
  const transitions = probeTransitions(target.name, alerts, state);
  const incidents = incidentsOf(transitions, now);
  const uptime: Record<string, (number | undefined)[]> = {};
  for (const p of probes === 'unknown' ? [] : probes) {
    const key = p.host ? `${p.probe} on ${p.host}` : p.probe;
    const mine = incidents.filter((i) => i.probe === p.probe && (i.host ?? '') === (p.host ?? ''));
    const firsts = [Date.parse(p.since), ...mine.map((i) => Date.parse(i.from))];
    uptime[key] = dailyUptime(mine, now, STATUS_DAYS, Math.min(...firsts));
  }
  let entries: CatalogueEntry[] | 'unknown' = [];
  if (target.backup?.length)
    entries = await defaultCatalogue(target, data.local, data.env).catch(() => 'unknown' as const);
  const backups =
    entries === 'unknown'
      ? ('unknown' as const)
      : newestGoodCopies(target, entries, now).map((b) => {
          const job = target.backup?.find((j) => j.name === b.backup);
          const tested = entries
            .filter((e) => e.backup === b.backup && e.restoreTest)
            .sort((x, y) => Date.parse(y.restoreTest!.at) - Date.parse(x.restoreTest!.at))[0]?.restoreTest;
          return {
            ...b,
            ...(job?.rpoHours !== undefined ? { rpoHours: job.rpoHours } : {}),
            ...(tested
              ? {
                  restoreTest: {
                    status: tested.ok ? 'SUCCEEDED' : 'FAILED',
                    at: tested.at,
                    runId: tested.runId,
                  },
                }
              : {}),
          };
        });
  const schedules = targetSchedules(target).map((s) => {
    const last =
      s.workflow === 'health'
        ? Object.values(state?.probes ?? {})
            .map((p) => p.lastAt)
            .sort()
            .at(-1)
        : entries !== 'unknown' && s.backup && !s.task
          ? entries.find((e) => e.backup === s.backup)?.startedAt
          : undefined;
    const next = nextScheduledRun(s.expression, {
      after: now,
      timezone: s.timezone,
      ...(last ? { lastRun: Date.parse(last) } : {}),
    });
    return { workflow: s.workflow, job: s.job, expression: s.expression, ...(next ? { next } : {}) };
  });
  const result: TargetView = {
    name: target.name,
    ...(target.description ? { description: target.description } : {}),
    ...(lastDeploy ? { lastDeploy: view(lastDeploy) } : {}),
    running: running.map(view),
    recent: runs.slice(0, 20).map(view),
    probes,
    ...(state?.maintenance ? { maintenance: state.maintenance } : {}),
    uptime,
    backups,
    schedules,
    approvals: await openApprovals(data, target.name, running),
    runbooks: Object.entries(target.recovery ?? {}).map(([name, rb]) => ({
      name,
      description: rb.description,
      approval: rb.destructive ? 'always' : rb.unattended ? 'never' : 'when started by an alert',
    })),
  };
  if (options.report) {
    result.latency = await latencyOf(target, state, data, now).catch(() => 'unknown' as const);
    const directory = commitDirectory(target);
    const refs = runs
      .filter((r) => r.workflow === 'deploy' && r.status === 'SUCCEEDED' && r.ref)
      .map((r) => r.ref!);
    result.report = deliveryReport({
      target: target.name,
      days: 30,
      now,
      runs,
      commitTimes: directory ? await commitTimes(directory, refs) : {},
      transitions,
    });
  }
  return result;
}

/**
 * Each probe's latency per day over the last {@link LATENCY_DAYS} days: the finished days from the
 * uptime history (files locally, the state table's day items on a stage: a GetItem a day), today
 * from the health state.
 */
async function latencyOf(
  target: Target,
  state: (FullHealthState & { today?: HealthDay }) | undefined,
  data: ConsoleData,
  now: number,
): Promise<Record<string, LatencyDay[]>> {
  if (!target.health) return {};
  const wanted = lastDays(new Date(now), LATENCY_DAYS);
  let history: HealthHistoryStore;
  if (data.local) {
    history = new FileHealthHistory();
  } else {
    if (!data.env.STEPOPS_STATE_TABLE) throw new Error('no state table');
    const [{ DynamoHealthHistory }, { dynamoClient }, { stageRegion }] = await Promise.all([
      import('../../shared/drivers/aws/dynamo-health-history.ts'),
      import('../../shared/drivers/aws/clients.ts'),
      import('../stage.ts'),
    ]);
    history = new DynamoHealthHistory(data.env.STEPOPS_STATE_TABLE, {
      client: dynamoClient(stageRegion(data.env)),
    });
  }
  const stored = await history.readDays(target.name, wanted.slice(0, -1));
  const days: HealthDay[] = Object.values(stored).flatMap((body) => {
    try {
      return [JSON.parse(body) as HealthDay];
    } catch {
      return [];
    }
  });
  if (state?.today) days.push(state.today);
  return latencySeries(days, wanted);
}

/** The overview of every target. */
export async function overviewView(data: ConsoleData): Promise<OverviewView> {
  const targets: TargetView[] = [];
  for (const t of data.targets()) targets.push(await targetView(data, t));
  return { where: data.source.where, now: data.now(), targets };
}

/**
 * The public status of every target, from the local health state and alerts (or the stage's).
 *
 * @example
 * const html = statusPageHtml({ title: 'local', generatedAt, targets: await publicTargets(data) });
 */
export async function publicTargets(data: ConsoleData): Promise<PublicTarget[]> {
  const alerts = data.local ? await outboxHealthAlerts() : [];
  const targets: { target: Target; state: FullHealthState | undefined }[] = [];
  for (const target of data.targets()) {
    targets.push({
      target,
      state: (await readHealthState(target, data.local, data.env)) as FullHealthState | undefined,
    });
  }
  return publicStatusOf({ title: data.source.where, now: data.now(), targets, alerts }).targets;
}

/** Writes the public status page under `<home>/status/<where>/index.html`; returns the file. */
export async function writeStatusPage(data: ConsoleData): Promise<string> {
  const body = statusPageHtml({
    title: data.local ? 'local' : data.source.where,
    generatedAt: new Date(data.now()).toISOString(),
    targets: await publicTargets(data),
  });
  return (await new FileStatusPagePublisher(data.source.where).publish(body)).location;
}

/** The data the console reads, for the options (a stage's state table named as `status` names it). */
export async function consoleData(
  options: WhereOptions,
  deps: SourceDeps & { now?: () => number } = {},
): Promise<ConsoleData> {
  const env = { ...(deps.env ?? process.env) };
  const source = await runSourceFor(options, { ...deps, env });
  const local = source.where === 'local';
  if (!local) {
    env.STEPOPS_STATE_TABLE ||= stageResourceNames(source.where).stateTable;
    // `answerRun` (the code of `stepops approve`) and the approval store read the table from the
    // process's environment, as `stepops approve` does: the console serves this one stage.
    process.env.STEPOPS_STATE_TABLE ||= env.STEPOPS_STATE_TABLE;
  }
  return { source, local, env, targets: () => targetsOf(local), now: deps.now ?? Date.now };
}

function same(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function cookieOf(req: IncomingMessage): string | undefined {
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === COOKIE) return value.join('=');
  }
  return undefined;
}

function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'content-security-policy':
      "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'",
    ...headers,
  });
  res.end(body);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let size = 0;
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new Error('the form is too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A running console. */
export interface ConsoleServer {
  /** The URL to open, with the access token. */
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

/**
 * Starts the console on 127.0.0.1 at a random port. The first request must carry the access
 * token (`?token=`); it is then kept in a same-site, HTTP-only cookie and removed from the URL.
 * Without it: 401; with a wrong one, or a Host header other than this address (DNS rebinding): 403.
 *
 * @example
 * const console = await startConsole(await consoleData({ local: true }));
 * console.url // 'http://127.0.0.1:43817/?token=…'
 */
export async function startConsole(
  data: ConsoleData,
  options: { by?: string; output?: Output } = {},
): Promise<ConsoleServer> {
  const token = randomBytes(32).toString('base64url');
  const csrf = createHash('sha256').update(`stepops-console-form\n${token}`).digest('base64url');
  const by = options.by ?? requester('console');
  let port = 0;
  const messages = new Map<string, { ok: boolean; text: string }>();

  const frame = async (title: string, body: ReturnType<typeof html>, poll = true) => {
    let approvals = 0;
    try {
      for (const t of data.targets()) {
        const running = await data.source.list('recover', { target: t.name, limit: 50, running: true });
        approvals += (
          await openApprovals(
            data,
            t.name,
            running.filter((r) => r.status === 'RUNNING'),
          )
        ).length;
      }
    } catch {
      // The count is left out of the navigation.
    }
    return page({
      title: `${title} · stepops console`,
      heading: `stepops console · ${data.local ? 'local' : `stage ${data.source.where}`}`,
      nav: consoleNav(approvals),
      body,
      ...(poll ? { poll: data.local ? POLL_SECONDS.local : POLL_SECONDS.stage } : {}),
    });
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) {
      send(res, 403, 'forbidden: unexpected Host header');
      return;
    }
    const url = new URL(req.url ?? '/', `http://127.0.0.1:${port}`);
    const given = url.searchParams.get('token');
    if (given !== null) {
      if (!same(given, token)) {
        send(res, 403, 'forbidden: wrong access token');
        return;
      }
      url.searchParams.delete('token');
      res.writeHead(303, {
        location: `${url.pathname}${url.search}`,
        'set-cookie': `${COOKIE}=${token}; HttpOnly; SameSite=Strict; Path=/`,
        'cache-control': 'no-store',
      });
      res.end();
      return;
    }
    const cookie = cookieOf(req);
    if (cookie === undefined) {
      send(
        res,
        401,
        'unauthorized: open the URL that "stepops console" printed (it carries the access token)',
      );
      return;
    }
    if (!same(cookie, token)) {
      send(res, 403, 'forbidden: wrong access token');
      return;
    }
    const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    if (req.method === 'POST' && parts[0] === 'approvals' && parts.length === 2) {
      const origin = req.headers.origin;
      if (origin !== undefined && origin !== `http://${host}`) {
        send(res, 403, 'forbidden: the form came from another origin');
        return;
      }
      const form = new URLSearchParams(await readBody(req));
      if (!same(form.get('csrf') ?? '', csrf)) {
        send(res, 403, 'forbidden: the form token is missing or wrong');
        return;
      }
      const decision = form.get('decision');
      if (decision !== 'approve' && decision !== 'reject') {
        send(res, 400, 'bad request: decision must be approve or reject');
        return;
      }
      const comment = (form.get('comment') ?? '').trim();
      const said: string[] = [];
      const capture: Output = { out: (t) => said.push(t), err: (t) => said.push(t) };
      // The same path as `stepops approve|reject <run>`: nothing else can answer an approval.
      const code = await answerRun(parts[1]!, decision === 'approve' ? 'approved' : 'rejected', {
        by,
        output: capture,
        ...(comment ? { comment } : {}),
      });
      const id = randomBytes(8).toString('hex');
      messages.set(id, { ok: code === EXIT.ok, text: said.join(' ').replace(/^stepops: /, '') });
      if (messages.size > 50) messages.delete(messages.keys().next().value!);
      options.output?.out(`console: ${decision} run ${parts[1]} by ${by}: ${said.join(' ')}`);
      res.writeHead(303, { location: `/approvals?message=${id}`, 'cache-control': 'no-store' });
      res.end();
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      send(res, 405, 'method not allowed', { allow: 'GET, HEAD, POST' });
      return;
    }
    const now = data.now();
    if (parts.length === 0) {
      send(res, 200, await frame('Overview', overviewBody(await overviewView(data))));
      return;
    }
    if (parts[0] === 'targets' && parts.length === 2) {
      const target = data.targets().find((t) => t.name === parts[1]);
      if (!target) {
        send(
          res,
          404,
          await frame(
            'Not found',
            html`<h1>No target ${parts[1]}</h1><p><a href="/">Overview</a></p>`,
            false,
          ),
        );
        return;
      }
      send(
        res,
        200,
        await frame(target.name, targetBody(await targetView(data, target, { report: true }), now)),
      );
      return;
    }
    if (parts[0] === 'runs' && parts.length === 2) {
      const run = /^[A-Za-z0-9_-]{1,80}$/.test(parts[1]!) ? await data.source.describe(parts[1]!) : undefined;
      if (!run) {
        send(
          res,
          404,
          await frame('Not found', html`<h1>No run ${parts[1]}</h1><p><a href="/">Overview</a></p>`, false),
        );
        return;
      }
      const reader = data.source.events(run);
      await reader.next();
      const trace = reader.trace(run);
      const failure = firstFailure(reader.all);
      const tail = outputTail(reader.all);
      const link = run.executionArn ? consoleUrl(run.executionArn) : undefined;
      const approvals =
        run.status === 'RUNNING' && run.workflow === 'recover' && run.target
          ? await openApprovals(data, run.target, [run])
          : [];
      send(
        res,
        200,
        await frame(
          run.runId,
          runBody(
            {
              run: view(run),
              bars: timelineBars(trace, now - Date.parse(run.startedAt)),
              totalMs: run.stoppedAt ? trace.durationMs : now - Date.parse(run.startedAt),
              ...(failure ? { failed: failure } : {}),
              ...(tail ? { outputTail: tail } : {}),
              batches: batchHosts(reader.all),
              ...(link ? { consoleUrl: link } : {}),
              ...(approvals[0] ? { approval: approvals[0] } : {}),
            },
            now,
          ),
        ),
      );
      return;
    }
    if (parts[0] === 'approvals' && parts.length === 1) {
      const all: ApprovalView[] = [];
      for (const t of data.targets()) {
        const running = await data.source.list('recover', { target: t.name, limit: 50, running: true });
        all.push(
          ...(await openApprovals(
            data,
            t.name,
            running.filter((r) => r.status === 'RUNNING'),
          )),
        );
      }
      const message = messages.get(url.searchParams.get('message') ?? '');
      send(res, 200, await frame('Approvals', approvalsBody(all, csrf, now, message)));
      return;
    }
    if (parts[0] === 'status' && parts.length === 1) {
      const targets = await publicTargets(data);
      send(
        res,
        200,
        statusPageHtml({
          title: data.local ? 'local' : data.source.where,
          generatedAt: new Date(now).toISOString(),
          targets,
        }),
      );
      return;
    }
    send(res, 404, await frame('Not found', html`<h1>Not found</h1><p><a href="/">Overview</a></p>`, false));
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((error: unknown) => {
      options.output?.err(`stepops console: ${(error as Error).message}`);
      if (!res.headersSent) send(res, 500, html`<h1>Error</h1><pre>${(error as Error).message}</pre>`.value);
      else res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    server,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Files under the status directory (for the message). */
export async function statusFiles(): Promise<string[]> {
  return readdir(path.join(stepopsHome(), 'status')).catch(() => []);
}
