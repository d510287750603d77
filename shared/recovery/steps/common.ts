/**
 * What the recovery step Lambdas share: each advances its step by one bounded long-poll and returns
 * its progress, `running` (the workflow's Choice loop calls again with it) or `done`. This module
 * holds the step's context (target, runbook step, what the pre-flight resolved, deadline), the
 * polling loop, the phase runner and the EC2 waits; each step lives in the file named after its
 * Lambda.
 */
import type { RunbookStep, Target } from '../../config/schema.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from '../../deploy/steps.ts';
import type { InstanceOperations, InstanceReadiness } from '../../drivers/ports.ts';
import type { StepInput, StepProgress } from '../contracts.ts';
import type { RecoveryDeps } from '../deps.ts';
import { RecoveryStepFailedError, RecoveryStepTimedOutError } from '../errors.ts';

/** Pause between two reads of EC2/RDS states. */
export const AWS_POLL_MS = 5_000;
/** Tag on resources a run replaced (kept for inspection). */
export const REPLACED_BY_TAG = 'stepops:replaced-by-run';

/** What a step invocation works with: the target, its runbook step, what the pre-flight resolved, its time. */
export interface Ctx {
  input: StepInput;
  deps: RecoveryDeps;
  target: Target;
  step: RunbookStep;
  resolved: Record<string, string>;
  region: string;
  budgetEnd: number;
  deadline: number;
}

/** The step's context; RecoveryStepFailedError when the target file no longer has this step at this place. */
export function context(input: StepInput, deps: RecoveryDeps, remaining: RemainingTime): Ctx {
  const target = deps.findTarget(input.target);
  const step = target.recovery?.[input.runbook]?.steps[input.step.index];
  if (!step || step.name !== input.step.name) {
    throw new RecoveryStepFailedError(
      `step "${input.step.name}" is no longer step ${input.step.index + 1} of runbook "${input.runbook}" in the target file`,
    );
  }
  const now = deps.now();
  const deadline = input.progress.deadline
    ? Date.parse(input.progress.deadline)
    : now + input.step.timeoutSeconds * 1000;
  return {
    input,
    deps,
    target,
    step,
    resolved: input.context.steps[step.name] ?? {},
    region: input.context.region ?? (target.hosts.type === 'ec2' ? target.hosts.region : ''),
    budgetEnd: now + Math.max(0, Math.min(LONG_POLL_MAX_MS, remaining() - LONG_POLL_SAFETY_MS)),
    deadline,
  };
}

/** The progress with the step's deadline, so that the next invocation keeps it. */
export function progress(ctx: Ctx, fields: StepProgress): StepProgress {
  return { ...fields, deadline: new Date(ctx.deadline).toISOString() };
}

/** A value the pre-flight resolved for this step; RecoveryStepFailedError when it did not. */
export function need(ctx: Ctx, key: string): string {
  const value = ctx.resolved[key];
  if (!value) {
    throw new RecoveryStepFailedError(`step "${ctx.step.name}": the pre-flight did not resolve ${key}`);
  }
  return value;
}

function timedOut(ctx: Ctx, waitingFor: string): RecoveryStepTimedOutError {
  return new RecoveryStepTimedOutError(
    `step "${ctx.step.name}" timed out after ${ctx.input.step.timeoutSeconds} s waiting for ${waitingFor}`,
  );
}

/**
 * Polls `check` until it returns a value, the step's deadline (throws RecoveryStepTimedOutError) or
 * the end of this invocation's budget (returns undefined: the step is still running).
 */
export async function poll<T>(
  ctx: Ctx,
  waitingFor: string,
  check: () => Promise<T | undefined>,
  pauseMs = AWS_POLL_MS,
): Promise<T | undefined> {
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    const next = ctx.deps.now() + pauseMs;
    if (next > ctx.deadline) throw timedOut(ctx, waitingFor);
    if (next > ctx.budgetEnd) return undefined;
    await ctx.deps.sleep(pauseMs);
  }
}

// ── EC2 helpers ─────────────────────────────────────────────────────────────────────────────────

/** Running, both status checks ok, SSM agent online. */
export function ready(r: InstanceReadiness): boolean {
  return r.state === 'running' && r.statusOk && r.agentOnline;
}

/** Waits until every instance is {@link ready}; false while this invocation's budget ran out first. */
export async function waitReady(ctx: Ctx, ops: InstanceOperations, ids: string[]): Promise<boolean> {
  const seen = await poll(
    ctx,
    `${ids.join(', ')} to pass the status checks with the SSM agent online`,
    async () => {
      const readiness = await ops.readiness(ctx.region, ids);
      return readiness.length === ids.length && readiness.every(ready) ? true : undefined;
    },
  );
  return seen === true;
}

/** Waits until every instance is in `state`; false while this invocation's budget ran out first. */
export async function waitState(
  ctx: Ctx,
  ops: InstanceOperations,
  ids: string[],
  state: string,
): Promise<boolean> {
  const seen = await poll(ctx, `${ids.join(', ')} to be ${state}`, async () => {
    const readiness = await ops.readiness(ctx.region, ids);
    return readiness.length === ids.length && readiness.every((r) => r.state === state) ? true : undefined;
  });
  return seen === true;
}

/** Waits until the volume is as `wanted`; false while this invocation's budget ran out first. */
export async function waitVolume(
  ctx: Ctx,
  ops: InstanceOperations,
  volumeId: string,
  wanted: (v: { state: string; instanceId?: string; attachment?: string }) => boolean,
  what: string,
): Promise<boolean> {
  const seen = await poll(ctx, `volume ${volumeId} to be ${what}`, async () => {
    const volume = await ops.volume(ctx.region, volumeId);
    return volume && wanted(volume) ? true : undefined;
  });
  return seen === true;
}

/** One phase of a step: its name and what it does (the next progress, or `waiting` to be called again). */
export type Phase = readonly [string, (p: StepProgress) => Promise<StepProgress | 'waiting'>];

/** A phase that acts once and moves on. */
export function act(name: string, fn: (p: StepProgress) => Promise<unknown>): Phase {
  return [
    name,
    async (p) => {
      await fn(p);
      return p;
    },
  ];
}

/** A phase that waits until `until` says so. */
export function wait(name: string, until: (p: StepProgress) => Promise<boolean>): Phase {
  return [name, async (p) => ((await until(p)) ? p : 'waiting')];
}

/**
 * Runs the phases of a step in order until one is still waiting (returns its progress) or all are
 * done; `track` sees the state after each phase (to report what was done when a later one fails).
 */
export async function phases(
  ctx: Ctx,
  current: StepProgress,
  steps: readonly Phase[],
  done: (p: StepProgress) => StepProgress,
  track: (p: StepProgress) => void = () => {},
): Promise<StepProgress> {
  let state = current;
  let index = state.phase === 'start' ? 0 : steps.findIndex(([phase]) => phase === state.phase);
  if (index < 0) throw new RecoveryStepFailedError(`step "${ctx.step.name}": unknown phase "${state.phase}"`);
  for (; index < steps.length; index += 1) {
    const [phase, run] = steps[index] as (typeof steps)[number];
    state = { ...state, phase };
    track(state);
    const next = await run(state);
    if (next === 'waiting') return progress(ctx, { ...state, status: 'running' });
    state = next;
    track(state);
  }
  return progress(ctx, done(state));
}
