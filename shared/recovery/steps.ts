/**
 * The step Lambdas of the recovery workflow. Each advances its step by one bounded long-poll and
 * returns its progress: `running` (the workflow's Choice loop calls again with it) or `done`.
 * Errors are named (RecoveryStepFailedError, RecoveryStepTimedOutError, ReplaceInstanceFailedError)
 * and say which step failed and what happened.
 */
import type { Probe, RunbookStep, Target } from '../config/schema.ts';
import type { TargetsWait } from '../deploy/contracts.ts';
import { STATE_OUTPUT_TAIL } from '../deploy/contracts.ts';
import type { DeployDeps } from '../deploy/deps.ts';
import { drainTargetsStep, registerTargetsStep, TARGETS_POLL_MS } from '../deploy/load-balancer.ts';
import { resolveCount, splitIntoBatches } from '../deploy/plan.ts';
import { LONG_POLL_MAX_MS, LONG_POLL_SAFETY_MS, type RemainingTime } from '../deploy/steps.ts';
import { CLIENT_TOKEN_TAG } from '../drivers/aws/ec2-instance-operations.ts';
import { SNAPSHOT_TAGS } from '../drivers/aws/snapshot-service.ts';
import type { Drivers } from '../drivers/index.ts';
import { hostSelector } from '../drivers/options.ts';
import { tail } from '../drivers/output.ts';
import type { HostRef, InstanceOperations, InstanceReadiness } from '../drivers/ports.ts';
import { NoHostsError } from '../errors.ts';
import { PARAM_VALUE_PATTERN, type StepInput, type StepProgress } from './contracts.ts';
import type { DumpLocator, RecoveryDeps } from './deps.ts';
import { RecoveryStepFailedError, RecoveryStepTimedOutError, ReplaceInstanceFailedError } from './errors.ts';
import { AGREE_PREFIX, agreeScript, planRecovery, rollingOf, SCRIPT_MARGIN_SECONDS } from './plan.ts';

/** How far back a retried command step looks for the command it sent (a retry comes within minutes). */
export const COMMAND_IDEMPOTENCY_WINDOW_MS = 3_600_000;
/** Pause between two reads of a command's status, and of EC2/RDS states. */
export const COMMAND_POLL_MS = 500;
export const AWS_POLL_MS = 5_000;
/** After a reboot, instances count as back only once seen down, or after this long. */
export const REBOOT_SETTLE_MS = 60_000;
/** Tag on resources a run replaced (kept for inspection). */
export const REPLACED_BY_TAG = 'stepops:replaced-by-run';

const FINAL = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);

interface Ctx {
  input: StepInput;
  deps: RecoveryDeps;
  target: Target;
  step: RunbookStep;
  resolved: Record<string, string>;
  region: string;
  budgetEnd: number;
  deadline: number;
}

function context(input: StepInput, deps: RecoveryDeps, remaining: RemainingTime): Ctx {
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

function progress(ctx: Ctx, fields: StepProgress): StepProgress {
  return { ...fields, deadline: new Date(ctx.deadline).toISOString() };
}

function need(ctx: Ctx, key: string): string {
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
async function poll<T>(
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

// ── command steps (script, restart, restore-dump) ───────────────────────────────────────────────

/** Where the host downloads a dump: the locator's presigned URL, or a local dump's own `file://` URL. */
async function dumpDownloadUrl(
  locator: DumpLocator,
  target: Target,
  uri: string,
  expiresInSeconds: number,
): Promise<string> {
  if (locator.downloadUrl) return locator.downloadUrl(target, uri, expiresInSeconds);
  if (uri.startsWith('file:///')) return uri;
  throw new RecoveryStepFailedError(
    `no way to download ${uri} on the host (the dump locator cannot presign it)`,
  );
}

/** A script step's agreement commands (none for other steps). */
function agreeOf(step: RunbookStep): { before?: string; after?: string } {
  return step.type === 'script' ? (step.agree ?? {}) : {};
}

/** The deploy's load-balancer steps over the recovery's drivers (they read the target, its load balancer and the clock). */
function deployLbDeps(deps: RecoveryDeps): DeployDeps {
  return {
    findTarget: deps.findTarget,
    driversFor: (target) => ({ loadBalancer: deps.loadBalancer(target) }) as Drivers,
    now: deps.now,
    sleep: deps.sleep,
    fallbackNotifier: deps.fallbackNotifier,
  };
}

/** The health gate between batches: the deploy's gate probes, else the runbook's verify probes. */
function gateProbes(
  target: Target,
  runbook: string,
): { probes: Probe[]; timeoutSeconds: number; intervalSeconds: number } {
  const gate = target.deploy?.healthGate;
  const names = gate?.probes ?? target.recovery?.[runbook]?.verify ?? [];
  const probes = (target.health?.probes ?? []).filter((p) => names.includes(p.name));
  return { probes, timeoutSeconds: gate?.timeout ?? 120, intervalSeconds: gate?.interval ?? 5 };
}

/**
 * run-recovery-command: sends the step's script (rendered from the target file, the run's
 * parameters and, for a restore-dump, the dump the pre-flight found) to the target's hosts in
 * batches, as a deploy rolls: each batch is drained from the target's load-balancer target groups,
 * runs the script, passes the health gate and is registered again before the next one starts
 * (one host at a time behind a load balancer unless the runbook's `rolling` says otherwise). Done
 * with the output tail; RecoveryStepFailedError naming the host once more than `maxErrors` failed,
 * after registering the batch back (or saying which hosts are still out of the load balancer).
 *
 * @example
 * let progress = INITIAL_PROGRESS;
 * do progress = await commandStep({ ...input, progress }, deps, remaining); while (progress.status === 'running');
 */
export async function commandStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  const commands = deps.commands(ctx.target);
  const groups = ctx.target.deploy?.loadBalancer?.targetGroups ?? [];
  const rolling = rollingOf(ctx.target, input.runbook);
  const lbDeps = deployLbDeps(deps);
  const left: RemainingTime = () => Math.max(0, ctx.budgetEnd - deps.now()) + LONG_POLL_SAFETY_MS;
  let current = input.progress;
  if (current.phase === 'start') {
    const hosts = await deps.hosts(ctx.target).resolve(hostSelector(ctx.target));
    if (hosts.length === 0) {
      throw new NoHostsError(
        `step "${ctx.step.name}": no host of target "${ctx.target.name}" can take commands (none found, or no SSM agent online)`,
      );
    }
    current = progress(ctx, {
      status: 'running',
      phase: agreeOf(ctx.step).before ? 'agree-before' : groups.length ? 'drain' : 'send',
      allHosts: hosts,
      batchIndex: 0,
      failedHosts: [],
      ran: [],
    });
  }
  const allHosts = (current.allHosts ?? []) as HostRef[];
  const batches = splitIntoBatches(allHosts, rolling.batchSize);
  const allowed = resolveCount(rolling.maxErrors, allHosts.length, 0);
  const lbWait = (p: StepProgress): TargetsWait => ({
    status: (p.lbStatus as TargetsWait['status'] | undefined) ?? 'starting',
    rounds: typeof p.lbRounds === 'number' ? p.lbRounds : 0,
    ...(typeof p.lbDeadline === 'string' ? { deadline: p.lbDeadline } : {}),
  });
  const withoutLb = ({ lbStatus: _s, lbRounds: _r, lbDeadline: _d, ...rest }: StepProgress): StepProgress =>
    rest as StepProgress;
  /** Puts a drained batch back in its groups before a failure ends the step; says who is still out. */
  const failWith = async (batch: HostRef[], drained: boolean, message: string): Promise<never> => {
    let back = '';
    if (drained && groups.length) {
      try {
        const lb = deps.loadBalancer(ctx.target);
        for (const group of groups) await lb.register(group, batch);
        back = `; ${batch.map((h) => h.id).join(', ')} registered back in the load balancer`;
      } catch (error) {
        back = `; still out of the load balancer: ${batch.map((h) => h.id).join(', ')} (${(error as Error).message})`;
      }
    }
    throw new RecoveryStepFailedError(`${message}${back}`);
  };
  /** Runs an agreement command on every host; their one answer, or undefined while it runs. */
  const agreeAll = async (which: 'before' | 'after', body: string): Promise<string | undefined> => {
    if (typeof current.agreeCommandId !== 'string') {
      const handle = await commands.send({
        hosts: allHosts,
        script: agreeScript(ctx.target, input.runbook, ctx.step.name, body, input.runId),
        timeoutSeconds: 60,
        ...(ctx.target.hosts.type === 'ec2' ? { workingDirectory: ctx.target.hosts.workingDirectory } : {}),
        comment:
          `stepops recover ${ctx.target.name} ${ctx.step.name} agree ${which} run ${input.runId}`.slice(
            0,
            100,
          ),
        maxConcurrency: String(allHosts.length),
        maxErrors: String(allHosts.length),
        idempotency: {
          key: `${input.runId}/recover/${ctx.step.name}/agree-${which}`,
          since: new Date(deps.now() - COMMAND_IDEMPOTENCY_WINDOW_MS).toISOString(),
        },
      });
      current = { ...current, agreeCommandId: handle.commandId };
    }
    const agreeCommandId = String(current.agreeCommandId);
    const results = await poll(
      ctx,
      `the agreement check on ${allHosts.map((h) => h.id).join(', ')}`,
      async () => {
        const status = await commands.status({ commandId: agreeCommandId, hosts: allHosts });
        return status.length >= allHosts.length && status.every((r) => FINAL.has(r.state))
          ? status
          : undefined;
      },
      COMMAND_POLL_MS,
    );
    if (!results) return undefined;
    const unchanged = which === 'before' ? '; nothing was changed' : '';
    const failed = results.find((r) => r.state !== 'succeeded');
    if (failed) {
      throw new RecoveryStepFailedError(
        `step "${ctx.step.name}": the agreement check (${which}) failed on host ${failed.hostId}: ${tail(failed.outputTail, STATE_OUTPUT_TAIL)}${unchanged}`,
      );
    }
    const answers = results.map((r) => {
      const line = r.outputTail
        .split('\n')
        .filter((l) => l.startsWith(AGREE_PREFIX))
        .at(-1);
      return {
        host: r.hostId,
        answer: line === undefined ? '(no answer)' : line.slice(AGREE_PREFIX.length).trim(),
      };
    });
    const distinct = new Set(answers.map((a) => a.answer));
    if (distinct.size !== 1 || answers[0]?.answer === '(no answer)') {
      throw new RecoveryStepFailedError(
        `step "${ctx.step.name}": the hosts disagree ${which === 'before' ? 'before it' : 'after it'} (${body.split('\n')[0]}): ${answers.map((a) => `${a.host}: ${a.answer}`).join('; ')}${unchanged}`,
      );
    }
    const { agreeCommandId: _c, ...rest } = current;
    current = rest as StepProgress;
    return answers[0]?.answer ?? '';
  };
  for (;;) {
    if (current.phase === 'agree-before') {
      const answer = await agreeAll('before', agreeOf(ctx.step).before as string);
      if (answer === undefined) return progress(ctx, { ...current, status: 'running' });
      if (!PARAM_VALUE_PATTERN.test(answer) || answer === '') {
        throw new RecoveryStepFailedError(
          `step "${ctx.step.name}": the hosts agree on ${JSON.stringify(answer.slice(0, 80))}, which is not a plain value (at most 256 letters, digits and . _ : / @ + = , -); nothing was changed`,
        );
      }
      current = { ...current, agreed: answer, phase: groups.length ? 'drain' : 'send' };
    }
    if (current.phase === 'agree-after') {
      const answer = await agreeAll('after', agreeOf(ctx.step).after as string);
      if (answer === undefined) return progress(ctx, { ...current, status: 'running' });
      current = { ...current, agreedAfter: answer, phase: 'finish' };
    }
    if (current.phase === 'finish') {
      const ran = (current.ran as string[] | undefined) ?? [];
      const failedHosts = (current.failedHosts as string[] | undefined) ?? [];
      return progress(ctx, {
        status: 'done',
        phase: 'done',
        commandId: String(current.commandId),
        polls: typeof current.polls === 'number' ? current.polls : 0,
        summary: `ran on ${ran.join(', ')}${batches.length > 1 ? ` in ${batches.length} batches` : ''}${failedHosts.length ? `; failed on ${failedHosts.join(', ')} (within maxErrors ${allowed})` : ''}${typeof current.agreedAfter === 'string' ? `; every host at ${current.agreedAfter}` : ''}`,
        ...(typeof current.outputTail === 'string' ? { outputTail: current.outputTail } : {}),
      });
    }
    const index = typeof current.batchIndex === 'number' ? current.batchIndex : 0;
    const batch = batches[index] as HostRef[];
    const label = `batch ${index + 1} of ${batches.length} (${batch.map((h) => h.id).join(', ')})`;
    if (current.phase === 'drain') {
      const wait = await drainTargetsStep(
        { target: ctx.target.name, hosts: batch, wait: lbWait(current) },
        lbDeps,
        left,
      );
      if (wait.status === 'timed-out') {
        await failWith(
          batch,
          true,
          `step "${ctx.step.name}": ${label} did not drain from the load balancer in time`,
        );
      }
      if (wait.status !== 'done') {
        return progress(ctx, {
          ...current,
          status: 'running',
          lbStatus: wait.status,
          lbRounds: wait.rounds,
          ...(wait.deadline ? { lbDeadline: wait.deadline } : {}),
        });
      }
      current = { ...withoutLb(current), phase: 'send' };
    }
    if (current.phase === 'send') {
      const dumpUri = ctx.resolved.dumpUri;
      const restoring =
        ctx.step.type === 'restore-dump' && dumpUri ? { job: ctx.step.backup, uri: dumpUri } : undefined;
      // The host downloads the dump with curl from a presigned URL (no AWS CLI on the host).
      const download = restoring
        ? await dumpDownloadUrl(
            deps.dumps(ctx.target),
            ctx.target,
            restoring.uri,
            input.step.timeoutSeconds + 600,
          )
        : undefined;
      const plan = planRecovery(ctx.target, input.runbook, {
        runId: input.runId,
        params: input.params,
        ...(restoring && download
          ? { dumpUris: { [restoring.job]: restoring.uri }, dumpDownloads: { [restoring.job]: download } }
          : {}),
        ...(typeof current.agreed === 'string' ? { agreed: { [ctx.step.name]: current.agreed } } : {}),
      });
      const script = plan.steps[input.step.index]?.script;
      if (!script) throw new RecoveryStepFailedError(`step "${ctx.step.name}" has no script to run`);
      const handle = await commands.send({
        hosts: batch,
        script,
        // One batch's command: the script's own timeout and the wrapper's margin.
        timeoutSeconds:
          'timeout' in ctx.step ? ctx.step.timeout + SCRIPT_MARGIN_SECONDS : input.step.timeoutSeconds,
        ...(ctx.target.hosts.type === 'ec2' ? { workingDirectory: ctx.target.hosts.workingDirectory } : {}),
        comment:
          `stepops recover ${ctx.target.name} ${input.runbook} ${ctx.step.name} run ${input.runId}`.slice(
            0,
            100,
          ),
        maxConcurrency: String(batch.length),
        maxErrors: String(batch.length),
        // A retried invocation (AWS retries a Lambda whose answer was lost) finds the command the
        // first one sent instead of running the script twice.
        idempotency: {
          key: `${input.runId}/recover/${ctx.step.name}/${index}`,
          since: new Date(deps.now() - COMMAND_IDEMPOTENCY_WINDOW_MS).toISOString(),
        },
      });
      current = {
        ...current,
        phase: 'wait',
        commandId: handle.commandId,
        ...(handle.commandIds && handle.commandIds.length > 1 ? { commandIds: handle.commandIds } : {}),
        hosts: batch,
        polls: 0,
      };
    }
    if (current.phase === 'wait') {
      const commandId = String(current.commandId);
      const commandIds = Array.isArray(current.commandIds) ? (current.commandIds as string[]) : undefined;
      let polls = typeof current.polls === 'number' ? current.polls : 0;
      const results = await poll(
        ctx,
        `the command on ${batch.map((h) => h.id).join(', ')}`,
        async () => {
          polls += 1;
          const status = await commands.status({
            commandId,
            hosts: batch,
            ...(commandIds ? { commandIds } : {}),
          });
          return status.length >= batch.length && status.every((r) => FINAL.has(r.state))
            ? status
            : undefined;
        },
        COMMAND_POLL_MS,
      );
      if (!results) return progress(ctx, { ...current, status: 'running', polls });
      const failed = results.filter((r) => r.state !== 'succeeded');
      const failedHosts = [
        ...((current.failedHosts as string[] | undefined) ?? []),
        ...failed.map((r) => r.hostId),
      ];
      const first = failed[0];
      if (first && failedHosts.length > allowed) {
        // `timeout` in the rendered script exits 124 when the step's own timeout kills it.
        if (first.state === 'timed-out' || first.exitCode === 124) {
          throw new RecoveryStepTimedOutError(
            `step "${ctx.step.name}" timed out on host ${first.hostId} after its ${ctx.step.timeout} s: ${tail(first.outputTail, STATE_OUTPUT_TAIL)}`,
          );
        }
        await failWith(
          batch,
          groups.length > 0,
          `step "${ctx.step.name}" failed on host ${first.hostId} (${first.state}${first.exitCode !== undefined ? `, exit ${first.exitCode}` : ''}): ${tail(first.outputTail, STATE_OUTPUT_TAIL)}`,
        );
      }
      const last = results.at(-1);
      current = {
        ...current,
        phase: 'gate',
        polls,
        failedHosts,
        ran: [...((current.ran as string[] | undefined) ?? []), ...results.map((r) => r.hostId)],
        outputTail: tail(last?.outputTail ?? '', STATE_OUTPUT_TAIL),
      };
    }
    if (current.phase === 'gate') {
      const gate = gateProbes(ctx.target, input.runbook);
      const more = index + 1 < batches.length;
      if (gate.probes.length > 0 && (more || groups.length > 0)) {
        const gateEnd =
          typeof current.gateDeadline === 'string'
            ? Date.parse(current.gateDeadline)
            : deps.now() + gate.timeoutSeconds * 1000;
        const probes = deps.probes(ctx.target);
        let failing = '';
        for (;;) {
          const results = (await Promise.all(gate.probes.map((p) => probes.run(p, batch)))).flat();
          const bad = results.find((r) => !r.ok);
          if (!bad) break;
          failing = `${bad.probe}${bad.host ? ` on ${bad.host}` : ''}: ${bad.detail}`;
          const next = deps.now() + gate.intervalSeconds * 1000;
          if (next > gateEnd) {
            await failWith(
              batch,
              groups.length > 0,
              `step "${ctx.step.name}": ${label} did not pass the health gate (${failing})`,
            );
          }
          if (next > ctx.budgetEnd) {
            return progress(ctx, {
              ...current,
              status: 'running',
              gateDeadline: new Date(gateEnd).toISOString(),
            });
          }
          await deps.sleep(gate.intervalSeconds * 1000);
        }
      }
      const { gateDeadline: _g, ...rest } = current;
      current = { ...(rest as StepProgress), phase: groups.length ? 'register' : 'next' };
    }
    if (current.phase === 'register') {
      const wait = await registerTargetsStep(
        { target: ctx.target.name, hosts: batch, wait: lbWait(current) },
        lbDeps,
        left,
      );
      if (wait.status === 'timed-out') {
        throw new RecoveryStepFailedError(
          `step "${ctx.step.name}": ${label} is not healthy in the load balancer after its restart; registered, not healthy: ${batch.map((h) => h.id).join(', ')}`,
        );
      }
      if (wait.status !== 'done') {
        return progress(ctx, {
          ...current,
          status: 'running',
          lbStatus: wait.status,
          lbRounds: wait.rounds,
          ...(wait.deadline ? { lbDeadline: wait.deadline } : {}),
        });
      }
      current = { ...withoutLb(current), phase: 'next' };
    }
    if (current.phase === 'next') {
      if (index + 1 >= batches.length) {
        current = { ...current, phase: agreeOf(ctx.step).after ? 'agree-after' : 'finish' };
        continue;
      }
      current = { ...current, batchIndex: index + 1, phase: groups.length ? 'drain' : 'send' };
      if (deps.now() + COMMAND_POLL_MS > ctx.budgetEnd)
        return progress(ctx, { ...current, status: 'running' });
      continue;
    }
    if (
      !['drain', 'send', 'wait', 'gate', 'register', 'next', 'agree-after', 'finish'].includes(current.phase)
    ) {
      throw new RecoveryStepFailedError(`step "${ctx.step.name}": unknown phase "${current.phase}"`);
    }
  }
}

// ── EC2 helpers ─────────────────────────────────────────────────────────────────────────────────

function ready(r: InstanceReadiness): boolean {
  return r.state === 'running' && r.statusOk && r.agentOnline;
}

async function waitReady(ctx: Ctx, ops: InstanceOperations, ids: string[]): Promise<boolean> {
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

async function waitState(ctx: Ctx, ops: InstanceOperations, ids: string[], state: string): Promise<boolean> {
  const seen = await poll(ctx, `${ids.join(', ')} to be ${state}`, async () => {
    const readiness = await ops.readiness(ctx.region, ids);
    return readiness.length === ids.length && readiness.every((r) => r.state === state) ? true : undefined;
  });
  return seen === true;
}

async function waitVolume(
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

type Phase = readonly [string, (p: StepProgress) => Promise<StepProgress | 'waiting'>];

/** A phase that acts once and moves on. */
function act(name: string, fn: (p: StepProgress) => Promise<unknown>): Phase {
  return [
    name,
    async (p) => {
      await fn(p);
      return p;
    },
  ];
}

/** A phase that waits until `until` says so. */
function wait(name: string, until: (p: StepProgress) => Promise<boolean>): Phase {
  return [name, async (p) => ((await until(p)) ? p : 'waiting')];
}

/**
 * Runs the phases of a step in order until one is still waiting (returns its progress) or all are
 * done; `track` sees the state after each phase (to report what was done when a later one fails).
 */
async function phases(
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

// ── reboot ──────────────────────────────────────────────────────────────────────────────────────

/**
 * reboot-instances: `RebootInstances`, then waits until every instance has gone down (or
 * {@link REBOOT_SETTLE_MS} passed) and is back: running, both status checks ok, SSM agent online.
 *
 * @example
 * await rebootStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining) // { status: 'running', phase: 'wait-down', … }
 */
export async function rebootStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  const ops = deps.instances(ctx.target);
  const ids = input.context.instanceIds;
  if (ids.length === 0) throw new RecoveryStepFailedError(`step "${ctx.step.name}": no instance to reboot`);
  return phases(
    ctx,
    input.progress,
    [
      [
        'reboot',
        async (p) => {
          await ops.reboot(ctx.region, ids);
          return { ...p, rebootedAt: new Date(deps.now()).toISOString() };
        },
      ],
      [
        'wait-down',
        async (p) => {
          const since = Date.parse(String(p.rebootedAt));
          const seen = await poll(ctx, `${ids.join(', ')} to go down`, async () => {
            if (deps.now() - since >= REBOOT_SETTLE_MS) return true;
            const readiness = await ops.readiness(ctx.region, ids);
            return readiness.some((r) => !ready(r)) ? true : undefined;
          });
          return seen ? p : 'waiting';
        },
      ],
      wait('wait-ready', () => waitReady(ctx, ops, ids)),
    ],
    (p) => ({
      ...p,
      status: 'done',
      phase: 'done',
      summary: `rebooted ${ids.join(', ')}; status checks ok, SSM agent online`,
    }),
  );
}

// ── restore-volume ──────────────────────────────────────────────────────────────────────────────

/**
 * restore-volume: stops the instance, creates a volume from the snapshot the pre-flight chose, swaps
 * it in at the declared device (the old volume is kept, tagged), starts the instance and waits for it.
 *
 * @example
 * await restoreVolumeStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining)
 */
export async function restoreVolumeStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  const ops = deps.instances(ctx.target);
  const instanceId = need(ctx, 'instanceId');
  const oldVolumeId = need(ctx, 'oldVolumeId');
  const device = need(ctx, 'device');
  const tags = { [SNAPSHOT_TAGS.target]: ctx.target.name, [SNAPSHOT_TAGS.run]: input.runId };
  return phases(
    ctx,
    input.progress,
    [
      act('stop', () => ops.stop(ctx.region, [instanceId])),
      wait('wait-stopped', () => waitState(ctx, ops, [instanceId], 'stopped')),
      [
        'create-volume',
        async (p) => {
          // CreateVolume has no client token: the tag lets a retried call find the volume it made.
          const clientToken = `${input.runId}/${ctx.step.name}`.slice(0, 256);
          const made = await ops.findCreatedVolume(ctx.region, clientToken);
          if (made) return { ...p, newVolumeId: made };
          const old = await ops.volume(ctx.region, oldVolumeId);
          const volumeId = await ops.createVolume(ctx.region, {
            snapshotId: need(ctx, 'snapshotId'),
            availabilityZone: need(ctx, 'availabilityZone'),
            ...(old?.type ? { volumeType: old.type } : {}),
            ...(old?.iops !== undefined ? { iops: old.iops } : {}),
            ...(old?.throughput !== undefined ? { throughput: old.throughput } : {}),
            ...(old?.kmsKeyId ? { kmsKeyId: old.kmsKeyId } : {}),
            tags: { ...tags, [CLIENT_TOKEN_TAG]: clientToken },
          });
          return { ...p, newVolumeId: volumeId };
        },
      ],
      wait('wait-volume', (p) =>
        waitVolume(ctx, ops, String(p.newVolumeId), (v) => v.state === 'available', 'available'),
      ),
      act('detach-old', async () => {
        await ops.tag(ctx.region, [oldVolumeId], { [REPLACED_BY_TAG]: input.runId });
        await ops.detachVolume(ctx.region, oldVolumeId, instanceId);
      }),
      wait('wait-detached', () =>
        waitVolume(ctx, ops, oldVolumeId, (v) => v.state === 'available', 'detached'),
      ),
      act('attach-new', (p) => ops.attachVolume(ctx.region, String(p.newVolumeId), instanceId, device)),
      wait('wait-attached', (p) =>
        waitVolume(
          ctx,
          ops,
          String(p.newVolumeId),
          (v) => v.state === 'in-use' && v.attachment === 'attached',
          'attached',
        ),
      ),
      act('start', () => ops.start(ctx.region, [instanceId])),
      wait('wait-ready', () => waitReady(ctx, ops, [instanceId])),
    ],
    (p) => ({
      ...p,
      status: 'done',
      phase: 'done',
      summary: `${instanceId} runs on ${String(p.newVolumeId)} at ${device} (from ${need(ctx, 'snapshotId')}); the old volume ${oldVolumeId} is kept, tagged ${REPLACED_BY_TAG}`,
    }),
  );
}

// ── restore-rds ─────────────────────────────────────────────────────────────────────────────────

/**
 * restore-database: restores the DB snapshot the pre-flight chose to a NEW instance with the old
 * one's settings, waits until it is available, then stops there (the summary gives the endpoint) or,
 * when the step declares `swapNames`, renames the old instance away and the new one to its name.
 *
 * @example
 * await restoreDatabaseStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining)
 */
export async function restoreDatabaseStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  if (ctx.step.type !== 'restore-rds')
    throw new RecoveryStepFailedError(`step "${ctx.step.name}" is not restore-rds`);
  const rds = deps.databases(ctx.target);
  const region = need(ctx, 'region');
  const dbInstance = need(ctx, 'dbInstance');
  const newId = need(ctx, 'newId');
  const swap = ctx.step.swapNames;
  const available = async (id: string): Promise<boolean> => {
    const seen = await poll(ctx, `DB instance ${id} to be available`, async () => {
      const db = await rds.describe(region, id);
      return db?.status === 'available' ? true : undefined;
    });
    return seen === true;
  };
  const snapshotId = need(ctx, 'snapshotId');
  const oldId = swap ? need(ctx, 'oldId') : '';
  /** The names were swapped already: the old instance is kept as oldId and the restored one is gone under newId. */
  const swapped = async () =>
    swap && !(await rds.describe(region, newId)) && (await rds.describe(region, oldId)) !== undefined;
  /** Where the restored instance is now: its new name, or the production name once swapped. */
  const restoredId = async () =>
    (await swapped()) && (await rds.describe(region, dbInstance)) ? dbInstance : newId;
  /** The instance the restore replaces, whose settings it takes: production, or its kept copy once renamed. */
  const production = async () => {
    const like =
      (swap ? await rds.describe(region, oldId) : undefined) ?? (await rds.describe(region, dbInstance));
    if (!like)
      throw new RecoveryStepFailedError(`step "${ctx.step.name}": DB instance ${dbInstance} is gone`);
    return like;
  };
  return phases(
    ctx,
    input.progress,
    [
      act('restore', async () => {
        // A retried call finds the instance it restored already (under its new name, or swapped in).
        if (await rds.describe(region, newId)) return;
        if (await swapped()) return;
        const like = await production();
        await rds.restore(region, {
          snapshotId,
          newId,
          like,
          tags: { [SNAPSHOT_TAGS.target]: ctx.target.name, [SNAPSHOT_TAGS.run]: input.runId },
        });
      }),
      wait('wait-restored', async () => available(await restoredId())),
      act('apply-settings', async () => {
        // What the restore call cannot take (monitoring, storage autoscaling, …), from the instance
        // it replaces; a retried call finds them set and changes nothing.
        await rds.applySettings(region, await restoredId(), await production());
      }),
      wait('wait-settings', async () => available(await restoredId())),
      ...(swap
        ? [
            act('rename-old', async () => {
              // A retry after the rename finds the old instance under its new name already.
              if (await rds.describe(region, oldId)) return;
              if ((await rds.describe(region, dbInstance))?.status === 'renaming') return;
              await rds.rename(region, dbInstance, oldId);
            }),
            wait('wait-old-renamed', () => available(oldId)),
            act('rename-new', async () => {
              if (await swapped()) return;
              if ((await rds.describe(region, newId))?.status === 'renaming') return;
              await rds.rename(region, newId, dbInstance);
            }),
            wait('wait-new-renamed', () => available(dbInstance)),
          ]
        : []),
      [
        'describe',
        async (p) => {
          const final = await rds.describe(region, swap ? dbInstance : newId);
          const endpoint = final?.endpoint ?? '';
          return {
            ...p,
            endpoint,
            summary: swap
              ? `${dbInstance} now runs restored from ${snapshotId} at ${endpoint || 'its endpoint'}; the old instance is kept as ${need(ctx, 'oldId')}`
              : `restored ${snapshotId} to the new instance ${newId} at ${endpoint || '(no endpoint yet)'}; ${dbInstance} is unchanged`,
          };
        },
      ],
    ],
    (p) => ({ ...p, status: 'done', phase: 'done' }),
  );
}

// ── replace-instance ──────────────────────────────────────────────────────────────────────────

/** Tag on a replaced instance: the time after which the run terminates it. */
export const TERMINATE_AFTER_TAG = 'stepops:terminate-after';

/** Tags copied from the old instance to its replacement (never AWS-reserved ones nor the retirement's). */
function copiedTags(tags: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(tags).filter(
      ([k]) => !k.startsWith('aws:') && k !== REPLACED_BY_TAG && k !== TERMINATE_AFTER_TAG,
    ),
  );
}

/** The tag keys that make an instance one of the target's: its selector's and `stepops:target`. */
export function selectingTagKeys(target: Target): string[] {
  const keys = target.hosts.type === 'ec2' && 'tags' in target.hosts ? Object.keys(target.hosts.tags) : [];
  return [...new Set([...keys, SNAPSHOT_TAGS.target])];
}

type Membership = 'drain' | 'register';

/** The target groups of the target and the one instance as a host of them. */
function groupsOf(ctx: Ctx, instanceId: string) {
  const groups = ctx.target.deploy?.loadBalancer?.targetGroups ?? [];
  return { groups, host: { kind: 'ec2', id: instanceId, region: ctx.region } satisfies HostRef };
}

/** Puts one instance in (`RegisterTargets`) or takes it out of (`DeregisterTargets`) every target group. */
async function changeGroups(ctx: Ctx, mode: Membership, instanceId: string): Promise<void> {
  const { groups, host } = groupsOf(ctx, instanceId);
  const lb = ctx.deps.loadBalancer(ctx.target);
  for (const group of groups) {
    if (mode === 'register') await lb.register(group, [host]);
    else await lb.deregister(group, [host]);
  }
}

/** Waits until the load balancer finds the instance `healthy` (registered) or `unused` (drained) in every group. */
async function waitGroups(ctx: Ctx, mode: Membership, instanceId: string): Promise<boolean> {
  const { groups, host } = groupsOf(ctx, instanceId);
  const lb = ctx.deps.loadBalancer(ctx.target);
  const wanted = mode === 'register' ? 'healthy' : 'unused';
  const seen = await poll(
    ctx,
    `${instanceId} to be ${mode === 'register' ? 'healthy in' : 'drained from'} ${groups.join(', ')}`,
    async () => {
      const health = (await Promise.all(groups.map((g) => lb.health(g, [host])))).flat();
      return health.every((h) => h.state === wanted) ? true : undefined;
    },
    TARGETS_POLL_MS,
  );
  return seen === true;
}

/**
 * replace-instance: launches a replacement (from the launch template with the old instance's subnet,
 * or from the AMI with the old instance's settings and tags), waits until it passes its status checks
 * with the SSM agent online, then:
 *
 * - without a data volume: registers it in the target's load-balancer target groups and waits until
 *   it is healthy there, moves the Elastic IP, and only then drains the old instance;
 * - with a data volume: drains the old instance, stops it, moves the volume, moves the Elastic IP,
 *   then registers the new one and waits until it is healthy.
 *
 * The old instance is then retired: stopped, tagged `stepops:replaced-by-run` and
 * `stepops:terminate-after`, and its selecting tags and `stepops:target` removed, so that no deploy,
 * probe or runbook selects it again; the run terminates it after the declared retention. Any failure
 * after the launch raises ReplaceInstanceFailedError naming the new instance and what became of the
 * old one.
 *
 * @example
 * await replaceInstanceStep({ ...input, progress: INITIAL_PROGRESS }, deps, remaining)
 */
export async function replaceInstanceStep(
  input: StepInput,
  deps: RecoveryDeps,
  remaining: RemainingTime,
): Promise<StepProgress> {
  const ctx = context(input, deps, remaining);
  if (ctx.step.type !== 'replace-instance')
    throw new RecoveryStepFailedError(`step "${ctx.step.name}" is not replace-instance`);
  const retainFor = ctx.step.retainOldFor;
  const ops = deps.instances(ctx.target);
  const oldId = need(ctx, 'oldInstanceId');
  const dataVolumeId = ctx.resolved.dataVolumeId;
  const device = ctx.resolved.device;
  const balanced = (ctx.target.deploy?.loadBalancer?.targetGroups ?? []).length > 0;
  let latest: StepProgress = input.progress;
  const newIdOf = (p: StepProgress) => String(p.newInstanceId);
  const launch: Phase = [
    'launch',
    async (p) => {
      const old = await ops.describe(ctx.region, oldId);
      const tags = {
        ...copiedTags(old?.tags ?? {}),
        [SNAPSHOT_TAGS.target]: ctx.target.name,
        [SNAPSHOT_TAGS.run]: input.runId,
      };
      const launchTemplateId = ctx.resolved.launchTemplateId;
      const subnetId = ctx.resolved.subnetId;
      const id = await ops.launch(ctx.region, {
        clientToken: `stepops-${input.runId}-${ctx.step.name}`.slice(0, 64),
        tags,
        ...(launchTemplateId
          ? {
              launchTemplate: {
                id: launchTemplateId,
                version: ctx.resolved.launchTemplateVersion ?? '$Default',
              },
              // In the data volume's availability zone (the pre-flight checked it).
              ...(subnetId ? { subnetId } : {}),
            }
          : {
              imageId: need(ctx, 'imageId'),
              ...(old?.instanceType ? { instanceType: old.instanceType } : {}),
              ...(subnetId ? { subnetId } : {}),
              ...(old?.securityGroupIds.length ? { securityGroupIds: old.securityGroupIds } : {}),
              ...(old?.iamInstanceProfileArn ? { iamInstanceProfileArn: old.iamInstanceProfileArn } : {}),
              ...(old?.keyName ? { keyName: old.keyName } : {}),
            }),
      });
      return { ...p, newInstanceId: id };
    },
  ];
  const registerNew: Phase[] = [
    act('register-new', (p) => changeGroups(ctx, 'register', newIdOf(p))),
    wait('wait-new-healthy', (p) => waitGroups(ctx, 'register', newIdOf(p))),
  ];
  const drainOld: Phase[] = [
    act('drain-old', () => changeGroups(ctx, 'drain', oldId)),
    wait('wait-old-drained', () => waitGroups(ctx, 'drain', oldId)),
  ];
  const stopOld: Phase[] = [
    act('stop-old', () => ops.stop(ctx.region, [oldId])),
    wait('wait-old-stopped', () => waitState(ctx, ops, [oldId], 'stopped')),
  ];
  const moveAddress = act('move-address', (p) =>
    ops.associateAddress(ctx.region, need(ctx, 'allocationId'), newIdOf(p)),
  );
  const retire: Phase = [
    'retire',
    async (p) => {
      const terminateAfter = new Date(deps.now() + retainFor * 1000).toISOString();
      // Tagged first, untagged last: the stepops:target tag is what lets the run act on it.
      await ops.tag(ctx.region, [oldId], {
        [REPLACED_BY_TAG]: input.runId,
        [TERMINATE_AFTER_TAG]: terminateAfter,
      });
      await ops.untag(ctx.region, [oldId], selectingTagKeys(ctx.target));
      return { ...p, retiredInstanceId: oldId, terminateAfter };
    },
  ];
  const sequence: Phase[] =
    dataVolumeId && device
      ? [
          launch,
          wait('wait-new-ready', (p) => waitReady(ctx, ops, [newIdOf(p)])),
          ...(balanced ? drainOld : []),
          ...stopOld,
          act('detach-data', () => ops.detachVolume(ctx.region, dataVolumeId, oldId)),
          wait('wait-data-detached', () =>
            waitVolume(ctx, ops, dataVolumeId, (v) => v.state === 'available', 'detached'),
          ),
          act('attach-data', (p) => ops.attachVolume(ctx.region, dataVolumeId, newIdOf(p), device)),
          wait('wait-data-attached', (p) =>
            waitVolume(
              ctx,
              ops,
              dataVolumeId,
              (v) => v.state === 'in-use' && v.attachment === 'attached' && v.instanceId === newIdOf(p),
              `attached to ${newIdOf(p)}`,
            ),
          ),
          moveAddress,
          ...(balanced ? registerNew : []),
          retire,
        ]
      : [
          launch,
          wait('wait-new-ready', (p) => waitReady(ctx, ops, [newIdOf(p)])),
          ...(balanced ? registerNew : []),
          moveAddress,
          ...(balanced ? drainOld : []),
          ...stopOld,
          retire,
        ];
  const run = () =>
    phases(
      ctx,
      input.progress,
      sequence,
      (p) => ({
        ...p,
        status: 'done',
        phase: 'done',
        newInstanceId: newIdOf(p),
        summary: `${newIdOf(p)} replaces ${oldId}${balanced ? ', healthy in the target groups' : ''}; Elastic IP ${ctx.resolved.publicIp ?? need(ctx, 'allocationId')} moved${dataVolumeId ? `, data volume ${dataVolumeId} at ${device}` : ''}; ${oldId} is stopped, out of the target (tagged ${REPLACED_BY_TAG}) and terminated after ${String(p.terminateAfter)}`,
      }),
      (p) => {
        latest = p;
      },
    );
  try {
    return await run();
  } catch (error) {
    const launched = latest.newInstanceId;
    if (typeof launched !== 'string' || error instanceof ReplaceInstanceFailedError) throw error;
    const done = sequence.map(([name]) => name);
    const at = done.indexOf(latest.phase);
    const past = (phase: string) => done.indexOf(phase) >= 0 && at >= done.indexOf(phase);
    const old = past('detach-data')
      ? 'stopped, with its data volume possibly moved'
      : past('stop-old')
        ? 'stopping or stopped, with its data volume still attached'
        : past('drain-old')
          ? 'running, out of the load balancer (register it again to serve)'
          : 'untouched';
    throw new ReplaceInstanceFailedError(
      `step "${ctx.step.name}" failed after launching the new instance ${launched} (left running for inspection${past('register-new') ? ', registered in the target groups' : ''}): ${(error as Error).message}; the old instance ${oldId} is ${old}`,
      launched,
    );
  }
}

// ── terminate-replaced ──────────────────────────────────────────────────────────────────────────

/**
 * terminate-replaced: once the run has waited the declared retention, terminates the instances this
 * run replaced: those tagged `stepops:replaced-by-run` with its run id that no longer carry
 * `stepops:target` (describe first: a retried call finds them terminated and does nothing more).
 *
 * @example
 * await terminateReplacedStep({ target: 'web', runId: 'run-1' }, deps) // { terminated: ['i-0abc…'] }
 */
export async function terminateReplacedStep(
  input: { target: string; runId: string },
  deps: RecoveryDeps,
): Promise<{ terminated: string[] }> {
  const target = deps.findTarget(input.target);
  if (target.hosts.type !== 'ec2') return { terminated: [] };
  const found = await deps
    .instances(target)
    .find({ type: 'ec2', region: target.hosts.region, tags: { [REPLACED_BY_TAG]: input.runId } });
  const retired = found
    .filter(
      (i) =>
        !(SNAPSHOT_TAGS.target in i.tags) && ['stopped', 'stopping', 'running', 'pending'].includes(i.state),
    )
    .map((i) => i.id);
  if (retired.length > 0) await deps.instances(target).terminate(target.hosts.region, retired);
  return { terminated: retired };
}
