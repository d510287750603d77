/**
 * AWS cost per run, from the trace of real runs of the deploy workflow on the local engine: real
 * handlers, real bash in temporary host directories, a real HTTP health endpoint on 127.0.0.1.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import {
  clearRegisteredTargets,
  findTarget,
  listTargets,
  registerTarget,
} from '../shared/config/registry.ts';
import type { Target } from '../shared/config/schema.ts';
import { LIST_PRICES, priceRun } from '../shared/cost/pricing.ts';
import { usageOf } from '../shared/cost/usage.ts';
import { splitIntoBatches } from '../shared/deploy/plan.ts';
import type { HostRef } from '../shared/drivers/ports.ts';
import { createLocalEngine, type LambdaHandler, type RunResult } from '../shared/engine/index.ts';
import { HEALTH_FUNCTION_MEMORY_MB } from '../stacks/health.ts';
import { benchBackupCosts } from './backup.ts';
import { createFixtureLab, type FixtureLab, fixtureTarget } from './fixtures.ts';
import { loadDeploy, memorySizes, withStepopsHome } from './harness.ts';
import { measureHealthCost } from './health.ts';
import type { CostScenario, CostSection } from './report.ts';
import { scheduleCosts } from './schedules.ts';

export interface SectionOptions {
  quick: boolean;
  log: (line: string) => void;
}

/** A step that does one second of "work" on the host and records the release. */
const WORK_STEP = {
  name: 'install',
  script: 'printf \'%s\\n\' "$STEPOPS_REF" > release\nsleep 1',
};
/** The restart step: the app comes back healthy. */
const RESTART_OK = { name: 'restart', script: "printf 'ok\\n' > ../state" };
/** The restart step of a bad release: the app answers 503 from now on. */
const RESTART_BROKEN = { name: 'restart', script: "printf 'broken\\n' > ../state" };

/** The outcome a run reports: the notify step's `outcome` when present, else the engine status. */
export function outcomeOf(result: RunResult): string {
  const outcome = (result.output as { outcome?: unknown } | undefined)?.outcome;
  if (typeof outcome === 'string') return outcome;
  for (const event of [...result.trace.events].reverse()) {
    const output = event.kind === 'state-exited' ? event.output : undefined;
    if (output && typeof output === 'object') {
      for (const candidate of [output, ...Object.values(output)]) {
        const value = (candidate as { outcome?: unknown } | null)?.outcome;
        if (typeof value === 'string') return `${result.status.toLowerCase()} (${value})`;
      }
    }
  }
  return result.status.toLowerCase();
}

/**
 * Wraps the real claim-hosts handler (the lease, then the hosts) so that a local target resolves
 * to `count` host directories (a `local` target declares one directory): the real handler runs,
 * then its hosts are replaced and split into batches of the plan's size (its lease is kept).
 */
async function multiHostResolver(
  real: LambdaHandler,
  lab: FixtureLab,
  count: number,
): Promise<LambdaHandler> {
  const hosts: HostRef[] = [];
  for (let i = 1; i <= count; i += 1) {
    const id = String(i).padStart(2, '0');
    const directory = path.join(lab.dir, `host-${id}`);
    await mkdir(directory, { recursive: true });
    hosts.push({ kind: 'local', id: `local:host-${id}`, directory });
  }
  return async (event, context) => {
    const resolved = (await real(event, context)) as Record<string, unknown>;
    const batchSize = (event as { batchSize: number | string }).batchSize;
    let offset = 0;
    const batches = splitIntoBatches(hosts, batchSize).map((batchHosts, index) => {
      const batch = { index, hosts: batchHosts, offset, hostCount: hosts.length };
      offset += batchHosts.length;
      return batch;
    });
    return { ...resolved, hosts, batches, batchCount: batches.length };
  };
}

/**
 * Runs the cost scenarios (three deploys, a health check, a recovery) and prices them; lists the
 * targets' schedules.
 *
 * @example
 * const section = await benchCost({ quick: false, log: console.error });
 */
export async function benchCost(options: SectionOptions): Promise<CostSection> {
  const deploy = await loadDeploy();
  const memory = await memorySizes(deploy.functions);
  const engine = createLocalEngine(deploy.definition, deploy.handlersByArn, { memoryMb: memory.memoryMb });
  const scenarios: CostScenario[] = [];

  await withStepopsHome(async () => {
    const lab = await createFixtureLab('cost');
    try {
      const run = async (
        name: string,
        target: string,
        handlerOverrides: Record<string, LambdaHandler> = {},
      ): Promise<void> => {
        const started = performance.now();
        const result = await engine.start({ target, ref: 'v2', requestedBy: 'bench' }, { handlerOverrides })
          .result;
        const wallMs = performance.now() - started;
        const usage = usageOf(
          { transitions: result.trace.transitions, invocations: result.trace.invocations },
          memory.memoryMb,
        );
        const scenario = { name, outcome: outcomeOf(result), wallMs, usage, cost: priceRun(usage) };
        options.log(
          `  ${name}: ${scenario.outcome}, ${usage.transitions} transitions, ${usage.invocations} invocations, ${usage.gbSeconds.toFixed(3)} GB-s, $${scenario.cost.total.toPrecision(3)} (${(wallMs / 1000).toFixed(1)} s)`,
        );
        scenarios.push(scenario);
      };

      registerTarget(fixtureTarget({ name: 'bench-one', lab, steps: [WORK_STEP, RESTART_OK] }));
      await run('deploy, 1 host', 'bench-one');

      registerTarget(fixtureTarget({ name: 'bench-ten', lab, steps: [WORK_STEP, RESTART_OK], batchSize: 4 }));
      const resolveArn = deploy.arns['claim-hosts'];
      if (!resolveArn) throw new Error('the deploy workflow has no claim-hosts function');
      const resolver = await multiHostResolver(deploy.handlersByArn[resolveArn]!, lab, 10);
      await run('deploy, 10 hosts in 3 batches', 'bench-ten', { [resolveArn]: resolver });

      registerTarget(
        fixtureTarget({ name: 'bench-bad', lab, steps: [WORK_STEP, RESTART_BROKEN], gateTimeout: 3 }),
      );
      await run('failed deploy (health gate) with rollback, 1 host', 'bench-bad');
    } finally {
      clearRegisteredTargets();
      await lab.dispose();
    }
  });

  // Scheduled health checks: real runs of the health workflow, priced as Express.
  const health = await withStepopsHome(() =>
    measureHealthCost({
      runs: options.quick ? 3 : 11,
      memoryMb: { ...memory.memoryMb, ...HEALTH_FUNCTION_MEMORY_MB },
      log: options.log,
    }),
  );
  scenarios.push(health.scenario);
  // A recovery run: real runs of the recovery workflow, priced as Standard.
  const { measureRecoveryCost } = await import('./recovery.ts');
  const recovery = await withStepopsHome(() =>
    measureRecoveryCost({ runs: options.quick ? 1 : 3, log: options.log }),
  );
  scenarios.push(recovery.scenario);
  const targets: Target[] = listTargets().map((name) => findTarget(name));
  return {
    status: 'ok',
    memoryNote: memory.source,
    notes: [
      'Each scenario is one run (the counts are deterministic; GB-seconds vary by a few percent with the machine).',
      `Deploy steps on every host: \`install\` writes the ref to a file and sleeps 1 s; \`restart\` marks the app healthy (the failed deploy marks it broken, so its health gate, timeout 3 s, fails and the rollback marks it healthy again). Health gate: one HTTP probe of a server on 127.0.0.1, one success needed, interval 1 s.`,
      "10 hosts in 3 batches: a `local` target declares one directory, so the real claim-hosts handler runs (it takes the lease and resolves that directory) and its hosts are replaced by 10 temporary host directories split by the plan's batch size of 4 (4 + 4 + 2); every other handler is the real one and runs bash on each of the 10 directories.",
      'Handler times are those of the local drivers (bash, files, 127.0.0.1): the Lambdas that call AWS (SSM SendCommand, DynamoDB, SNS) would take somewhat longer there, but they are a few percent of the GB-seconds; the waits of poll-command and check-health, which are the same in AWS, are the rest.',
      'Health check: the health workflow (Express) run for real on the local engine against 10 HTTP endpoints on 127.0.0.1; priced as one Express request ($1.00/M) plus its duration rounded up to 100 ms at 64 MB ($0.06/GB-hour), and its Lambda requests and GB-seconds (memory from HEALTH_FUNCTION_MEMORY_MB in stacks/health.ts); the scheduled EventBridge rule that starts a run is not billed (EventBridge bills the events published to its buses, and "events that originate from AWS services are free": AWS Knowledge Center, repost.aws/knowledge-center/eventbridge-reduce-charges; an EventBridge Scheduler schedule would add $1.00 per million runs, $0.044 a month at one run a minute). The per-run figures above are list prices. The health schedules below are priced at that measured run, each month twice: at list price, and with the free tiers every account has each month (Lambda 1 million requests and 400,000 GB-s; Express has none), as if nothing else in the account used them; the file state store stands in for the DynamoDB item: one strongly consistent GetItem and one PutItem of the state item a run, priced at on-demand list price ($0.125 per million read units of 4 KB, $0.625 per million write units of 1 KB) at the size of the item the DynamoDB store writes for the state the run wrote (its probe states and the uptime counts of the current day, brotli-compressed in a binary attribute), plus one PutItem of the history item of each day (on-demand DynamoDB has no monthly free request units).',
      ...(health.statusPage
        ? [
            `Status page (a stage with STEPOPS_STATUS_PAGE=website or cloudfront; off by default, then none of this): the health run publishes it when a public probe changes state, else at most every 5 minutes; a publish is priced from a run of the local engine that published (publish-status-page ${health.statusPage.durationMs.toFixed(0)} ms at ${HEALTH_FUNCTION_MEMORY_MB['publish-status-page'] ?? 256} MB, the Express run longer by as much, one S3 PUT at $0.005/1,000, one GetItem of each target's state item): $${health.statusPage.perPublish.toPrecision(2)} a publish, $${health.statusPage.monthly.toFixed(3)} a month for a target checked every minute (8,760 publishes), on top of the health checks below; the runs that published are left out of the health check's median.`,
          ]
        : []),
      recovery.memoryNote,
      'Not priced: CloudWatch Logs ingestion of the state machine and the Lambdas, SSM Run Command (no charge for EC2 in AWS-RunShellScript), SNS, DynamoDB lease writes, data transfer.',
    ],
    scenarios,
    schedules: [
      ...scheduleCosts(targets, {
        health: health.perRun,
        backupJobs: await benchBackupCosts(
          targets.map((t) => t.name),
          options,
        ),
      }),
      health.tenEndpoints,
    ],
    anchors: {
      syntheticsPerRun: LIST_PRICES.syntheticsPerCanaryRun,
      route53PerMonth: LIST_PRICES.route53HealthCheckPerMonth,
    },
  };
}
