/**
 * The local engine's own speed: executions per second of the deploy workflow with no-op handlers
 * (each returns at once the shape the next state needs), one execution after another.
 */
import { createLocalEngine, type LambdaHandler } from '../shared/engine/index.ts';
import { loadDeploy } from './harness.ts';
import type { EngineSection } from './report.ts';

export interface SectionOptions {
  quick: boolean;
  log: (line: string) => void;
}

const HOST = { kind: 'local', id: 'local:noop', directory: '/nonexistent/noop' } as const;

type Json = Record<string, unknown>;
const field = (input: unknown, key: string): unknown => (input as Json | null)?.[key];

/**
 * No-op handlers by function name: the success path of a one-host deploy, in the shapes of
 * `shared/deploy/contracts.ts`.
 */
export const NOOP_OUTPUTS: Record<string, (input: unknown) => unknown> = {
  'plan-deploy': (input) => ({
    target: 'noop',
    ref: 'v1',
    runId: String(field(input, 'runId') ?? 'noop'),
    batchSize: 1,
    maxErrors: 0,
    snapshot: { enabled: false, ebs: false },
    healthGate: { probes: ['noop'], timeoutSeconds: 5, intervalSeconds: 1, successes: 1 },
    verify: false,
    loadBalancer: false,
    deployTimeoutSeconds: 60,
    rollbackTimeoutSeconds: 60,
    lockTtlSeconds: 600,
  }),
  'claim-hosts': () => ({
    hosts: [HOST],
    batches: [{ index: 0, hosts: [HOST], offset: 0, hostCount: 1 }],
    batchCount: 1,
    lock: { key: 'noop', owner: 'noop', expiresAt: 0 },
  }),
  'create-snapshots': () => ({ volumeSnapshotIds: [] }),
  'send-command': (input) => ({
    commandId: 'noop',
    phase: field(input, 'phase') ?? 'deploy',
    hosts: field(input, 'hosts') ?? [HOST],
    sentAt: new Date(0).toISOString(),
  }),
  'poll-command': (input) => ({
    status: 'succeeded',
    phase: field(field(input, 'command'), 'phase') ?? 'deploy',
    commandId: 'noop',
    total: 1,
    done: 1,
    failedCount: 0,
    allowedErrors: 0,
    failures: [],
    polls: 1,
  }),
  'check-health': () => ({ status: 'healthy', consecutive: 1, rounds: 1 }),
  'describe-batch-failure': () => {
    throw new Error('the no-op deploy never fails a batch');
  },
  'plan-rollback': () => {
    throw new Error('the no-op deploy never rolls back');
  },
  notify: () => ({ outcome: 'succeeded', summary: 'no-op deploy succeeded' }),
};

/**
 * Runs the deploy workflow with no-op handlers back to back for a fixed time.
 *
 * @example
 * const section = await benchEngine({ quick: false, log: console.error });
 * section.perSecond; // executions per second
 */
export async function benchEngine(options: SectionOptions): Promise<EngineSection> {
  const deploy = await loadDeploy();
  const handlersByArn: Record<string, LambdaHandler> = {};
  const unknown: string[] = [];
  for (const name of deploy.functions) {
    // A function added to the workflow since: an empty object, enough if it is off the success path.
    const output = NOOP_OUTPUTS[name] ?? (() => ({}));
    if (!NOOP_OUTPUTS[name]) unknown.push(name);
    handlersByArn[deploy.arns[name]!] = async (event: never) => output(event);
  }
  const engine = createLocalEngine(deploy.definition, handlersByArn);
  const input = { target: 'noop', ref: 'v1' };

  // Warm up (JIT, first-run paths), and check the no-op run takes the success path.
  const first = await engine.start(input).result;
  if (first.status !== 'SUCCEEDED') {
    throw new Error(
      `no-op deploy did not succeed: ${first.error}: ${first.cause?.slice(0, 300)}${unknown.length ? ` (functions without a no-op output in bench/engine.ts: ${unknown.join(', ')})` : ''}`,
    );
  }
  for (let i = 0; i < 20; i += 1) await engine.start(input).result;

  const budgetMs = options.quick ? 1_000 : 5_000;
  const started = performance.now();
  let executions = 0;
  let transitions = 0;
  while (performance.now() - started < budgetMs) {
    const result = await engine.start(input).result;
    if (result.status !== 'SUCCEEDED') throw new Error(`no-op deploy failed: ${result.error}`);
    executions += 1;
    transitions = result.trace.transitions;
  }
  const seconds = (performance.now() - started) / 1000;
  options.log(`  ${executions} executions in ${seconds.toFixed(2)} s`);
  return {
    status: 'ok',
    executions,
    seconds,
    perSecond: executions / seconds,
    transitionsPerExecution: transitions,
    note: 'One engine instance (definition validated once), executions run one after another, each on a one-host, one-batch deploy that succeeds.',
  };
}
