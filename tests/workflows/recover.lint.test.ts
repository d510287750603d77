import { readFileSync } from 'node:fs';
import aslLanguageService from 'amazon-states-language-service';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { inspectDefinition, LAMBDA_CALLBACK_RESOURCE } from '../../shared/engine/index.ts';
import { recoverRequestSchema } from '../../shared/recovery/contracts.ts';
import {
  localArns,
  type State,
  type StateMachineDefinition,
  TRANSIENT_LAMBDA_ERRORS,
} from '../../workflows/asl.ts';
import { RECOVER_FUNCTIONS, RECOVER_TASK_TIMEOUTS, recoverWorkflow } from '../../workflows/recover.ts';

const { getLanguageService, TextDocument } = aslLanguageService;
const arns = localArns(RECOVER_FUNCTIONS);
const definition = recoverWorkflow(arns);

function allStates(
  machine: StateMachineDefinition,
  parentMap?: string,
): { name: string; state: State; parentMap: string | undefined }[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, parentMap },
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

/** Every state reachable from `start`; a Fail inside a Map continues at the Map's catchers. */
function reachable(start: string): Set<string> {
  const states = new Map(allStates(definition).map((s) => [s.name, s]));
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name)) continue;
    seen.add(name);
    const entry = states.get(name);
    if (!entry) continue;
    queue.push(...successors(entry.state));
    if (entry.state.Type === 'Map') queue.push(entry.state.ItemProcessor.StartAt);
    if (entry.state.Type === 'Fail' && entry.parentMap) {
      const map = states.get(entry.parentMap)?.state;
      if (map && 'Catch' in map) queue.push(...(map.Catch ?? []).map((c) => c.Next));
    }
  }
  return seen;
}

/** States reachable from `start` without passing through `avoid`. */
function reachableAvoiding(start: string, avoid: string): Set<string> {
  const states = new Map(allStates(definition).map((s) => [s.name, s]));
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (seen.has(name) || name === avoid) continue;
    seen.add(name);
    const entry = states.get(name);
    if (!entry) continue;
    queue.push(...successors(entry.state));
    if (entry.state.Type === 'Map') queue.push(entry.state.ItemProcessor.StartAt);
  }
  return seen;
}

describe('recover workflow definition', () => {
  it('passes asl-validator with ARN and path checks', () => {
    const { isValid, errorsText } = aslValidator(definition as never, { checkArn: true, checkPaths: true });
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('passes amazon-states-language-service without a diagnostic', async () => {
    const service = getLanguageService({});
    const document = TextDocument.create(
      'file:///recover.asl.json',
      'json',
      1,
      JSON.stringify(definition, null, 2),
    );
    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));
    expect(diagnostics.map((d) => d.message)).toEqual([]);
  });

  it('uses nothing the local engine refuses; its only task tokens are the approval callbacks (the run’s, a step’s)', () => {
    expect(inspectDefinition(definition).offences).toEqual([]);
    expect(JSON.stringify(definition)).not.toMatch(/JSONata|"Assign"|\.sync|ToleratedFailure|DISTRIBUTED/);
    const callbacks = allStates(definition).filter(
      (s) => s.state.Type === 'Task' && s.state.Resource.endsWith('.waitForTaskToken'),
    );
    expect(callbacks.map((s) => s.name)).toEqual(['AwaitApproval', 'AwaitStepApproval']);
  });

  it('gives every Task a timeout, the transient retry with jitter, and a catch-all that reaches Notify', () => {
    const tasks = allStates(definition).filter((s) => s.state.Type === 'Task');
    for (const { name, state } of tasks) {
      if (state.Type !== 'Task') continue;
      if (name === 'AwaitApproval' || name === 'AwaitStepApproval') {
        expect(state.TimeoutSecondsPath).toBe('$.plan.approval.timeoutSeconds');
      } else {
        const fn = state.Resource.split(':').at(-1) as (typeof RECOVER_FUNCTIONS)[number];
        expect(state.TimeoutSeconds, name).toBe(RECOVER_TASK_TIMEOUTS[fn]);
      }
      const transient = state.Retry?.find((r) =>
        TRANSIENT_LAMBDA_ERRORS.every((e) => r.ErrorEquals.includes(e)),
      );
      expect(transient, name).toMatchObject({ JitterStrategy: 'FULL', MaxAttempts: 3 });
      const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll, name).toBeDefined();
      if (name !== 'Notify') expect(reachable(catchAll?.Next as string).has('Notify'), name).toBe(true);
    }
    // One Wait only: the replaced instances' retention (days), after the outcome was sent and the
    // lock released; every short wait is a long-poll.
    const waits = allStates(definition).filter((s) => s.state.Type === 'Wait');
    expect(waits.map((w) => [w.name, w.state])).toEqual([
      ['WaitRetention', expect.objectContaining({ SecondsPath: '$.plan.retire.afterSeconds' })],
    ]);
    expect(reachableAvoiding('PlanRecovery', 'Notify').has('WaitRetention')).toBe(false);
  });

  it('approval: the callback passes the task token, approved continues to the steps, rejected and expired reach no step', () => {
    const approval = definition.States.AwaitApproval as Extract<State, { Type: 'Task' }>;
    expect(approval.Resource).toBe(LAMBDA_CALLBACK_RESOURCE);
    expect(approval.Parameters).toMatchObject({
      FunctionName: arns['request-approval'],
      Payload: { 'taskToken.$': '$$.Task.Token' },
    });
    // Approved: the Task succeeds, the lease is taken again (it may have expired during the wait),
    // then the steps.
    expect(approval.Next).toBe('RetakeLock');
    const retake = definition.States.RetakeLock as Extract<State, { Type: 'Task' }>;
    expect(retake.Resource).toBe(arns['acquire-lock']);
    expect(retake.Next).toBe('RunSteps');
    // Rejected (ApprovalRejectedError) and expired (States.Timeout) are caught by the catch-all,
    // whose path reaches Notify without passing through any step.
    const caught = approval.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'))?.Next as string;
    const afterRefusal = reachable(caught);
    expect(afterRefusal.has('Notify')).toBe(true);
    for (const step of [
      'RunSteps',
      'RunCommand',
      'ReplaceInstance',
      'RestoreDatabase',
      'RestoreVolume',
      'RebootInstances',
      'RestoreDump',
    ]) {
      expect(afterRefusal.has(step), step).toBe(false);
    }
    // Nothing acts before the approval when one is required: every step lies behind ApprovalNeeded.
    const beforeChoice = reachableAvoiding('PlanRecovery', 'ApprovalNeeded');
    expect(beforeChoice.has('RunSteps')).toBe(false);
    const choice = definition.States.ApprovalNeeded as Extract<State, { Type: 'Choice' }>;
    expect(choice.Choices).toEqual([
      { Variable: '$.plan.approval.required', BooleanEquals: true, Next: 'AwaitApproval' },
    ]);
  });

  it('describes a step failure without reading a Cause that a Task timeout may not have', () => {
    const inner = (definition.States.RunSteps as Extract<State, { Type: 'Map' }>).ItemProcessor.States;
    expect(inner.StepFailureHasCause).toMatchObject({
      Type: 'Choice',
      Choices: [{ Variable: '$.failure.Cause', IsPresent: true, Next: 'DescribeStepFailure' }],
      Default: 'DescribeStepFailureWithoutCause',
    });
    expect(JSON.stringify(inner.DescribeStepFailureWithoutCause)).not.toContain('$.failure.Cause');
    for (const kind of [
      'RunCommand',
      'RebootInstances',
      'RestoreVolume',
      'RestoreDatabase',
      'ReplaceInstance',
      'RestoreDump',
    ]) {
      const task = inner[kind] as Extract<State, { Type: 'Task' }>;
      expect(task.Catch?.[0]?.Next).toBe(`${kind}Failed`);
      expect(inner[`${kind}Failed`]).toMatchObject({
        Type: 'Pass',
        Result: kind,
        Next: 'StepFailureHasCause',
      });
    }
  });

  it('runs the steps one at a time and verifies health after them', () => {
    expect(definition.States.RunSteps).toMatchObject({
      Type: 'Map',
      MaxConcurrency: 1,
      Next: 'VerifyNeeded',
    });
    expect(reachable('RunSteps').has('VerifyHealth')).toBe(true);
  });

  it('has an example input that is a valid recovery request', () => {
    const example = JSON.parse(
      readFileSync(new URL('../../workflows/recover.example.json', import.meta.url), 'utf8'),
    );
    expect(recoverRequestSchema.safeParse(example).success).toBe(true);
  });
});
