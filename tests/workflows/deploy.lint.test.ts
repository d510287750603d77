import { readFileSync } from 'node:fs';
import aslLanguageService from 'amazon-states-language-service';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { deployRequestSchema } from '../../shared/deploy/contracts.ts';
import {
  BATCHES_STATE,
  PRE_DEPLOY_STATES,
  RELEASE_STATE,
  ROLLBACK_STATES,
} from '../../shared/deploy/outcome.ts';
import { inspectDefinition } from '../../shared/engine/index.ts';
import {
  localArns,
  type State,
  type StateMachineDefinition,
  TRANSIENT_LAMBDA_ERRORS,
} from '../../workflows/asl.ts';
import {
  DEFAULT_DEPLOY_TIMEOUT_SECONDS,
  DEPLOY_FUNCTIONS,
  DEPLOY_TASK_TIMEOUTS,
  deployTimeoutSeconds,
  deployWorkflow,
  MIN_DEPLOY_TIMEOUT_SECONDS,
} from '../../workflows/deploy.ts';

const { getLanguageService, TextDocument } = aslLanguageService;
const definition = deployWorkflow(localArns(DEPLOY_FUNCTIONS));

/** Every state with the machine it belongs to and, inside a Map, the Map state. */
function allStates(
  machine: StateMachineDefinition,
  parentMap?: string,
): { name: string; state: State; machine: StateMachineDefinition; parentMap: string | undefined }[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, machine, parentMap },
    ...(state.Type === 'Map' ? allStates(state.ItemProcessor, name) : []),
  ]);
}

function successors(state: State): string[] {
  const next: string[] = [];
  if ('Next' in state && state.Next) next.push(state.Next);
  if (state.Type === 'Choice') {
    next.push(...state.Choices.map((c) => c.Next));
    if (state.Default) next.push(state.Default);
  }
  if ('Catch' in state) next.push(...(state.Catch ?? []).map((c) => c.Next));
  return next;
}

/** Whether `goal` is reachable from `start`; a Fail inside a Map continues at the Map's catchers. */
function reaches(start: string, goal: string): boolean {
  const states = new Map(allStates(definition).map((s) => [s.name, s]));
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name === goal) return true;
    if (seen.has(name)) continue;
    seen.add(name);
    const entry = states.get(name);
    if (!entry) continue;
    queue.push(...successors(entry.state));
    if (entry.state.Type === 'Fail' && entry.parentMap) {
      const map = states.get(entry.parentMap)?.state;
      if (map && 'Catch' in map) queue.push(...(map.Catch ?? []).map((c) => c.Next));
    }
  }
  return false;
}

describe('deploy workflow definition', () => {
  it('passes asl-validator with ARN and path checks', () => {
    const { isValid, errorsText } = aslValidator(definition as never, { checkArn: true, checkPaths: true });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('passes amazon-states-language-service without a diagnostic', async () => {
    const service = getLanguageService({});
    const document = TextDocument.create(
      'file:///deploy.asl.json',
      'json',
      1,
      JSON.stringify(definition, null, 2),
    );
    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
    expect(diagnostics.map((d) => d.message)).toEqual([]);
  });

  it('the language service does catch a broken transition (the check above can fail)', async () => {
    const broken = structuredClone(definition);
    (broken.States.PlanDeploy as { Next: string }).Next = 'Nowhere';
    const service = getLanguageService({});
    const document = TextDocument.create('file:///broken.asl.json', 'json', 1, JSON.stringify(broken));
    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
    expect(diagnostics.map((d) => d.message)).toContain(
      'The value of "Next" property must be the name of an existing state.',
    );
  });

  it('uses nothing the local engine refuses (JSONPath only, inline Map)', () => {
    expect(inspectDefinition(definition).offences).toEqual([]);
    expect(JSON.stringify(definition)).not.toMatch(
      /JSONata|"Assign"|waitForTaskToken|\.sync|ToleratedFailure|DISTRIBUTED/,
    );
  });

  it('gives every Task a timeout, the transient Lambda retry with jitter, and a catch-all leading to Notify', () => {
    const tasks = allStates(definition).filter((s) => s.state.Type === 'Task');
    expect(tasks.length).toBeGreaterThanOrEqual(DEPLOY_FUNCTIONS.length);
    for (const { name, state } of tasks) {
      if (state.Type !== 'Task') continue;
      const fn = state.Resource.split(':').at(-1) as (typeof DEPLOY_FUNCTIONS)[number];
      expect(state.TimeoutSeconds, name).toBe(DEPLOY_TASK_TIMEOUTS[fn]);
      const transient = state.Retry?.find((r) =>
        TRANSIENT_LAMBDA_ERRORS.every((e) => r.ErrorEquals.includes(e)),
      );
      // A Lambda invoke that timed out on the client side is retried too (send-command is idempotent).
      expect(transient?.ErrorEquals, name).toContain('Lambda.ClientExecutionTimeoutException');
      expect(transient, name).toMatchObject({
        JitterStrategy: 'FULL',
        MaxAttempts: 3,
        BackoffRate: 2,
        IntervalSeconds: 1,
      });
      const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll, name).toBeDefined();
      if (name === 'Notify') {
        expect(catchAll?.Next).toBe('NotifyFailed');
      } else {
        expect(reaches(catchAll?.Next as string, 'Notify'), `${name} → ${catchAll?.Next} → Notify`).toBe(
          true,
        );
      }
    }
  });

  it('releases the lock on every path after ClaimHosts (Notify releases it, then notifies), and never waits with a fixed Wait', () => {
    const top = Object.entries(definition.States);
    for (const [name, state] of top) {
      if (['PlanDeploy', 'Notify', 'RunSucceeded', 'Succeeded', 'Failed', 'NotifyFailed'].includes(name))
        continue;
      for (const next of successors(state)) {
        expect(reaches(next, 'Notify'), `${name} → ${next}`).toBe(true);
      }
    }
    // The release is the Notify function's first act: no state of its own, so no transition and
    // no Lambda of its own; the failure it may record keeps the name the outcome reads.
    expect(definition.States[RELEASE_STATE]).toBeUndefined();
    expect(definition.States.Notify).toMatchObject({ Resource: localArns(DEPLOY_FUNCTIONS).notify });
    // Only the waits a poll asks for between reads of a long command, never a fixed one.
    const waits = allStates(definition).filter((s) => s.state.Type === 'Wait');
    expect(waits.map((w) => w.name).sort()).toEqual([
      'WaitBeforeDeployPoll',
      'WaitBeforeRollbackPoll',
      'WaitBeforeVerifyPoll',
    ]);
    for (const w of waits) {
      expect(w.state).not.toHaveProperty('Seconds');
      expect(w.state).toMatchObject({ SecondsPath: expect.stringMatching(/^\$\.\w+\.waitSeconds$/) });
    }
  });

  it('bounds every run: a state machine timeout, also handed to ClaimHosts to refuse longer fleets', () => {
    expect(definition.TimeoutSeconds).toBe(DEFAULT_DEPLOY_TIMEOUT_SECONDS);
    const custom = deployWorkflow(localArns(DEPLOY_FUNCTIONS), { timeoutSeconds: 7_200 });
    expect(custom.TimeoutSeconds).toBe(7_200);
    expect(custom.States.ClaimHosts).toMatchObject({ Parameters: { runTimeoutSeconds: 7_200 } });
    expect(deployTimeoutSeconds([])).toBe(MIN_DEPLOY_TIMEOUT_SECONDS);
  });

  it('takes the lease and resolves the hosts in one Task (ClaimHosts), whose failure still reaches the release', () => {
    const arns = localArns(DEPLOY_FUNCTIONS);
    expect(definition.States.PlanDeploy).toMatchObject({ Next: 'ClaimHosts' });
    expect(definition.States.ClaimHosts).toMatchObject({
      Resource: arns['claim-hosts'],
      Parameters: {
        'target.$': '$.plan.target',
        'runId.$': '$.plan.runId',
        'ttlSeconds.$': '$.plan.lockTtlSeconds',
        'batchSize.$': '$.plan.batchSize',
      },
      // The hosts where the later states read them, the lease beside them (the CLI reads it there).
      ResultPath: '$.hosts',
      Next: 'VerifyRequested',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.failures.ClaimHosts', Next: 'Notify' }],
      // acquire-lock's 30 s and resolve-hosts' 60 s, one after the other.
      TimeoutSeconds: 90,
    });
    // Neither of the two functions it replaces is a state of the deploy any more.
    expect(DEPLOY_FUNCTIONS).not.toContain('acquire-lock');
    expect(DEPLOY_FUNCTIONS).not.toContain('resolve-hosts');
    expect(definition.States.AcquireLock).toBeUndefined();
    expect(definition.States.ResolveHosts).toBeUndefined();
  });

  it('ends every batch with a tiny output, so the Map’s collected result stays small', () => {
    const map = definition.States[BATCHES_STATE] as unknown as {
      ItemProcessor: { States: Record<string, Record<string, unknown>> };
      ResultPath: unknown;
    };
    expect(map.ResultPath).toBeNull();
    const ends = Object.entries(map.ItemProcessor.States).filter(
      ([, state]) => state.Type === 'Succeed' || state.End === true,
    );
    expect(ends.map(([name]) => name)).toEqual(['BatchDeployed']);
    expect(ends[0]?.[1]).toMatchObject({ OutputPath: '$.batch.index' });
  });

  it('runs the batches one at a time and names the states the outcome logic reads', () => {
    const map = definition.States[BATCHES_STATE];
    expect(map).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 1,
      ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } },
    });
    for (const name of [...PRE_DEPLOY_STATES, ...ROLLBACK_STATES]) {
      expect(definition.States[name], name).toBeDefined();
    }
  });

  it('has an example input that is a valid deploy request', () => {
    const example = JSON.parse(
      readFileSync(new URL('../../workflows/deploy.example.json', import.meta.url), 'utf8'),
    );
    expect(deployRequestSchema.safeParse(example).success).toBe(true);
  });
});
