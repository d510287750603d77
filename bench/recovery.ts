/**
 * The cost of a recovery run, from real runs of the recovery workflow on the local engine with the
 * real handlers of `functions/`: a restart runbook started by a health alert on a fixture target
 * (one local host), approved by the operator, whose script restarts the app (1 s) before the
 * target's HTTP probe passes against a real server on 127.0.0.1.
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { clearRegisteredTargets, registerTarget } from '../shared/config/registry.ts';
import type { TargetInput } from '../shared/config/schema.ts';
import { priceRun } from '../shared/cost/pricing.ts';
import { type Invocation, usageOf } from '../shared/cost/usage.ts';
import { EngineTaskAnswerer } from '../shared/drivers/local/engine-task-answerer.ts';
import { FileApprovalStore } from '../shared/drivers/local/file-approval-store.ts';
import { createLocalEngine, type LambdaHandler } from '../shared/engine/index.ts';
import { answerApproval } from '../shared/recovery/approval.ts';
import { RECOVER_FUNCTION_MEMORY_MB } from '../stacks/recover.ts';
import type { RecoverFunction } from '../workflows/recover.ts';
import { outcomeOf } from './cost.ts';
import { createFixtureLab, type FixtureLab, scriptMs, timedStep } from './fixtures.ts';
import { localArn } from './harness.ts';
import type { CostScenario } from './report.ts';

/** The function behind the approval link (`GET|POST /approvals/{runId}/{decision}`), 256 MB. */
const ANSWER_FUNCTION = 'answer-approval';
const DEFAULT_MEMORY_MB = 256;

/** The fixture target: the app's health probe and a restart runbook that needs approval on an alert. */
function recoveryTarget(lab: FixtureLab): TargetInput {
  return {
    name: 'bench-recover',
    description: `benchmark fixture on ${lab.host}`,
    hosts: { type: 'local', directory: lab.host },
    health: {
      schedule: 'rate(5 minutes)',
      probes: [{ name: 'app-health', type: 'http', url: lab.server.url, expectStatus: [200], timeout: 2 }],
    },
    recovery: {
      'restart-app': {
        description: 'restart the app',
        steps: [
          { type: 'script', ...timedStep('restart', "sleep 1\nprintf 'ok\\n' > ../state"), timeout: 30 },
        ],
      },
    },
  };
}

/** The recovery workflow with the handler of each `functions/<name>/handler.ts`. */
async function loadRecover() {
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  const { RECOVER_FUNCTIONS, recoverWorkflow } = await import('../workflows/recover.ts');
  const arns = Object.fromEntries(RECOVER_FUNCTIONS.map((name) => [name, localArn(name)])) as Record<
    RecoverFunction,
    string
  >;
  const handlers: Record<string, LambdaHandler> = {};
  for (const name of RECOVER_FUNCTIONS) {
    const module = (await import(`../functions/${name}/handler.ts`)) as { handler: LambdaHandler };
    handlers[localArn(name)] = module.handler;
  }
  return { definition: recoverWorkflow(arns), handlers, functions: RECOVER_FUNCTIONS };
}

/** Memory of each recovery function and of the approval answer, from stacks/recover.ts. */
export function recoveryMemoryMb(functions: readonly string[]): Record<string, number> {
  return Object.fromEntries(
    [...functions, ANSWER_FUNCTION].map((name) => [
      name,
      RECOVER_FUNCTION_MEMORY_MB[name] ?? DEFAULT_MEMORY_MB,
    ]),
  );
}

/**
 * Runs the restart runbook `runs` times (the app down before each) and prices the median run.
 *
 * @example
 * const scenario = await measureRecoveryCost({ runs: 3, log: console.error });
 */
export async function measureRecoveryCost(options: {
  runs: number;
  log: (line: string) => void;
}): Promise<{ scenario: CostScenario; memoryNote: string; scriptMs: number }> {
  const { definition, handlers, functions } = await loadRecover();
  const memoryMb = recoveryMemoryMb(functions);
  const engine = createLocalEngine(definition, handlers, { stateMachineName: 'stepops-recover', memoryMb });
  const answerer = new EngineTaskAnswerer(engine.taskTokens);
  const lab = await createFixtureLab('recover');
  const runTag = randomBytes(3).toString('hex');
  const measured: (CostScenario & { scriptMs: number })[] = [];
  try {
    registerTarget(recoveryTarget(lab));
    for (let i = 0; i < options.runs; i += 1) {
      await writeFile(lab.server.stateFile, 'broken\n');
      // Unique in the process: a local command's id derives from its run and step (a retried send
      // finds the command it already sent), and the cold-run section runs this runbook before.
      const executionName = `bench-recover-${runTag}-${i}`;
      const answers: Promise<Invocation>[] = [];
      const started = performance.now();
      const result = await engine.start(
        {
          target: 'bench-recover',
          runbook: 'restart-app',
          reason: 'app-health down',
          trigger: 'health-alert',
        },
        {
          executionName,
          onTaskToken: () => {
            const answeredAt = performance.now();
            answers.push(
              answerApproval(
                { runId: executionName, decision: 'approved', by: 'bench' },
                new FileApprovalStore(),
                answerer,
              ).then(() => ({ functionName: ANSWER_FUNCTION, durationMs: performance.now() - answeredAt })),
            );
          },
        },
      ).result;
      const wallMs = performance.now() - started;
      if (result.status !== 'SUCCEEDED') throw new Error(`recovery run: ${result.error}: ${result.cause}`);
      if (answers.length !== 1) throw new Error(`recovery run asked ${answers.length} approvals, expected 1`);
      const usage = usageOf(
        {
          transitions: result.trace.transitions,
          invocations: [...result.trace.invocations, ...(await Promise.all(answers))],
        },
        memoryMb,
      );
      measured.push({
        name: 'recovery: restart runbook on a health alert (approval, command, verify), 1 host',
        outcome: outcomeOf(result),
        wallMs,
        usage,
        cost: priceRun(usage),
        scriptMs: await scriptMs(path.join(lab.dir, 'times')),
      });
    }
  } finally {
    clearRegisteredTargets();
    await lab.dispose();
  }
  measured.sort((a, b) => a.usage.gbSeconds - b.usage.gbSeconds);
  const { scriptMs: scripted, ...scenario } = measured[Math.floor(measured.length / 2)]!;
  options.log(
    `  ${scenario.name}: ${scenario.outcome}, ${scenario.usage.transitions} transitions, ${scenario.usage.invocations} invocations, ${scenario.usage.gbSeconds.toFixed(3)} GB-s, $${scenario.cost.total.toPrecision(3)}`,
  );
  const sizes = Object.entries(RECOVER_FUNCTION_MEMORY_MB)
    .map(([name, mb]) => `${name} ${mb} MB`)
    .join(', ');
  return {
    scenario,
    scriptMs: scripted,
    memoryNote: `Recovery: the median of ${options.runs} runs of the recovery workflow (workflows/recover.ts) on the local engine with the real handlers of functions/, a restart runbook (one script step: \`sleep 1\`, then the app answers 200) started by a health alert, so it waits for an approval, answered at once through the local approval store as the approval link's Lambda (answer-approval, its time measured and billed) answers it in AWS; then the target's HTTP probe of 127.0.0.1. Memory from RECOVER_FUNCTION_MEMORY_MB in stacks/recover.ts (${sizes}; the others and answer-approval 256 MB). Waiting for the approval costs nothing (a callback Task); the approval's HTTP API request ($1.00/M) and its SNS message are not priced.`,
  };
}
