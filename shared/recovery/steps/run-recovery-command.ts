/**
 * run-recovery-command: the command steps of a runbook (script, restart, restore-dump), rolled over
 * the target's hosts in batches behind the load balancer.
 */
import type { Probe, RunbookStep, Target } from '../../config/schema.ts';
import type { TargetsWait } from '../../deploy/contracts.ts';
import { STATE_OUTPUT_TAIL } from '../../deploy/contracts.ts';
import type { DeployDeps } from '../../deploy/deps.ts';
import { MissingCapabilityError } from '../../deploy/deps.ts';
import { drainTargetsStep, registerTargetsStep } from '../../deploy/load-balancer.ts';
import { resolveCount, splitIntoBatches } from '../../deploy/plan.ts';
import { LONG_POLL_SAFETY_MS, type RemainingTime } from '../../deploy/steps/common.ts';
import type { Drivers } from '../../drivers/index.ts';
import { hostSelector } from '../../drivers/options.ts';
import { tail } from '../../drivers/output.ts';
import type { HostRef } from '../../drivers/ports.ts';
import { NoHostsError } from '../../errors.ts';
import { PARAM_VALUE_PATTERN, type StepInput, type StepProgress } from '../contracts.ts';
import type { DumpLocator, RecoveryDeps } from '../deps.ts';
import { RecoveryStepFailedError, RecoveryStepTimedOutError, RunStoppedError } from '../errors.ts';
import { AGREE_PREFIX, agreeScript, planRecovery, rollingOf, SCRIPT_MARGIN_SECONDS } from '../plan.ts';
import { context, poll, progress } from './common.ts';

/** How far back a retried command step looks for the command it sent (a retry comes within minutes). */
export const COMMAND_IDEMPOTENCY_WINDOW_MS = 3_600_000;
/** Pause between two reads of a command's status. */
export const COMMAND_POLL_MS = 500;

const FINAL = new Set(['succeeded', 'failed', 'timed-out', 'cancelled']);

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

/**
 * Whether the step's run still runs: its execution ARN when the state machine passed it, else its
 * run id. Undefined (keep going) when the run's liveness is unknown or the deps have no run liveness.
 */
async function runAlive(input: StepInput, deps: RecoveryDeps, target: Target): Promise<boolean | undefined> {
  let runs: ReturnType<RecoveryDeps['runs']>;
  try {
    runs = deps.runs(target);
  } catch (error) {
    if (error instanceof MissingCapabilityError) return undefined;
    throw error;
  }
  return runs.alive(input.executionId ?? input.runId);
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
 * after registering the batch back (or saying which hosts are still out of the load balancer);
 * RunStoppedError when its run was stopped before a batch after the first (nothing more is drained
 * or sent; the finished batches stay registered).
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
    const found = await deps.hosts(ctx.target).resolve(hostSelector(ctx.target));
    // A destructive step acts only on the hosts its approval showed (none that appeared since).
    const approved = ctx.resolved.hosts?.split(',');
    const hosts = approved ? found.filter((h) => approved.includes(h.id)) : found;
    if (approved && hosts.length === 0) {
      throw new NoHostsError(
        `step "${ctx.step.name}": none of the hosts the pre-flight found (${approved.join(', ')}) can take commands now (found: ${found.map((h) => h.id).join(', ') || 'none'})`,
      );
    }
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
    // A Lambda invocation goes on after its run was stopped (StopExecution, a local abort): before a
    // batch after the first is drained or sent anything, the step checks that its run still runs.
    const starting =
      (current.phase === 'drain' && current.lbStatus === undefined) ||
      (current.phase === 'send' && groups.length === 0);
    if (index > 0 && starting && (await runAlive(input, deps, ctx.target)) === false) {
      const done = batches.slice(0, index).flat();
      const untouched = batches.slice(index).flat();
      throw new RunStoppedError(
        `step "${ctx.step.name}": the run was stopped; it ran on ${done.map((h) => h.id).join(', ')}${groups.length ? ' (registered in the load balancer again)' : ''} and stopped before ${label}: nothing was drained or sent to ${untouched.map((h) => h.id).join(', ')}`,
      );
    }
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
