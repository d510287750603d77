/**
 * Human approval of a recovery run: the request (sent through the alerts with the plan and signed
 * approve/reject links), the links themselves (HMAC-SHA256, expiring, single use through the
 * approval store) and the answer (`SendTaskSuccess` / `SendTaskFailure` of the waiting Task).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { NAME_PATTERN } from '../config/names.ts';
import type { ApprovalRecord, ApprovalStore, TaskAnswerer } from '../drivers/ports.ts';
import type { ApprovalAnswer, RequestApprovalInput, StepResource } from './contracts.ts';
import type { RecoveryDeps } from './deps.ts';
import {
  ApprovalLinkError,
  ApprovalNotDeliveredError,
  ApprovalRejectedError,
  ApprovalRunEndedError,
} from './errors.ts';

export type Decision = 'approved' | 'rejected';

const RUN_ID_PATTERN = /^[A-Za-z0-9_-]{1,80}$/;

function signature(
  secret: string,
  runId: string,
  decision: Decision,
  expiresAt: number,
  step: string,
): string {
  // A step's request signs its name too: its link answers that request only.
  return createHmac('sha256', secret)
    .update(`stepops-approval\n${runId}\n${decision}\n${expiresAt}${step ? `\nstep\n${step}` : ''}`)
    .digest('hex');
}

/**
 * The signed link that answers a run's approval: `<base>/approvals/<run>/<approve|reject>?expires=…&signature=…`,
 * with `&step=<name>` when it answers the approval of one step.
 *
 * @example
 * approvalLink({ baseUrl: 'https://api.example.com', secret }, 'run-1', 'approved', 1767225600)
 * // 'https://api.example.com/approvals/run-1/approve?expires=1767225600&signature=9f…'
 */
export function approvalLink(
  settings: { baseUrl: string; secret: string },
  runId: string,
  decision: Decision,
  expiresAt: number,
  step = '',
): string {
  const verb = decision === 'approved' ? 'approve' : 'reject';
  const base = settings.baseUrl.replace(/\/+$/, '');
  return `${base}/approvals/${encodeURIComponent(runId)}/${verb}?expires=${expiresAt}${step ? `&step=${encodeURIComponent(step)}` : ''}&signature=${signature(settings.secret, runId, decision, expiresAt, step)}`;
}

/**
 * Checks a signed link's parts: a well-formed run id and decision, an unexpired time, a signature
 * made with the secret (compared in constant time).
 *
 * @throws ApprovalLinkError saying what is wrong (never what the right signature is)
 * @example
 * verifyApprovalLink(secret, { runId: 'run-1', verb: 'approve', expires: '1767225600', signature: '9f…' }, Date.now() / 1000) // 'approved'
 */
export function verifyApprovalLink(
  secret: string,
  link: {
    runId: string;
    verb: string;
    expires: string | undefined;
    signature: string | undefined;
    step?: string | undefined;
  },
  nowSeconds: number,
): Decision {
  if (!RUN_ID_PATTERN.test(link.runId)) throw new ApprovalLinkError('the link names no valid run');
  const step = link.step ?? '';
  if (step !== '' && !NAME_PATTERN.test(step)) throw new ApprovalLinkError('the link names no valid step');
  const decision: Decision | undefined =
    link.verb === 'approve' ? 'approved' : link.verb === 'reject' ? 'rejected' : undefined;
  if (!decision) throw new ApprovalLinkError('the link must end with /approve or /reject');
  const expiresAt = Number(link.expires);
  if (!link.expires || !/^\d{1,12}$/.test(link.expires) || !Number.isSafeInteger(expiresAt)) {
    throw new ApprovalLinkError('the link has no valid expiry');
  }
  const given = Buffer.from(link.signature ?? '', 'utf8');
  const expected = Buffer.from(signature(secret, link.runId, decision, expiresAt, step), 'utf8');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ApprovalLinkError('the link signature is not valid');
  }
  if (expiresAt <= nowSeconds) throw new ApprovalLinkError('the link has expired');
  return decision;
}

/**
 * The resources each step will act on, one line each, as the approval request shows them: every
 * step of the run, or only `step` for the approval of one step.
 *
 * @example
 * resourceLines(plan, context)
 * // ['step 1 restore-volume (restore-volume, destructive):', '  - instance i-0abc: stopped, …', …]
 */
export function resourceLines(
  plan: RequestApprovalInput['plan'],
  context: RequestApprovalInput['context'],
  step?: RequestApprovalInput['step'],
): string[] {
  const steps = step ? [step] : plan.steps;
  return steps.flatMap((s) => {
    const resources: StepResource[] = context.resources?.[s.name] ?? [];
    const head = `step ${s.index + 1} ${s.name} (${s.type}${s.destructive ? ', destructive' : ''})`;
    if (resources.length === 0) return [`${head}: ${s.description}`];
    return [`${head}:`, ...resources.map((r) => `  - ${r.kind} ${r.id}: ${r.change}`)];
  });
}

/**
 * request-approval (the callback Task's function): stores the task token with the run (and the step,
 * for the approval of one step), then sends the approval request through the alerts: the exact
 * resources each step (or this step) will change, the plan, the run's link, and the signed
 * approve/reject links (AWS) or the `stepops approve|reject` commands (both).
 *
 * @example
 * await requestApprovalStep({ taskToken, plan, executionId, context }, deps) // { requested: true, expiresAt: … }
 */
export async function requestApprovalStep(
  input: RequestApprovalInput,
  deps: RecoveryDeps,
): Promise<{ requested: true; expiresAt: string }> {
  const { plan, step } = input;
  const target = deps.findTarget(plan.target);
  const nowSeconds = Math.floor(deps.now() / 1000);
  const expiresAt = nowSeconds + plan.approval.timeoutSeconds;
  await deps.approvals().put({
    runId: plan.runId,
    target: plan.target,
    runbook: plan.runbook,
    token: input.taskToken,
    expiresAt,
    status: 'pending',
    ...(step ? { step: step.name } : {}),
  });
  const links = await deps.approvalLinks();
  const stepName = step?.name ?? '';
  const actions = links
    ? [
        { label: 'Approve', url: approvalLink(links, plan.runId, 'approved', expiresAt, stepName) },
        { label: 'Reject', url: approvalLink(links, plan.runId, 'rejected', expiresAt, stepName) },
      ]
    : [];
  const executionUrl = consoleUrl(input.executionId);
  const until = new Date(expiresAt * 1000).toISOString();
  const what = step
    ? `step ${step.index + 1} of ${plan.steps.length}, "${step.name}" (${step.type}), of recovery "${plan.runbook}" of ${plan.target}`
    : `recovery "${plan.runbook}" of ${plan.target}`;
  const why = step ? 'a destructive step; each is approved on its own' : plan.approval.why;
  await deps.notifier(target).publish({
    target: plan.target,
    workflow: 'recover',
    outcome: 'awaiting-approval',
    runId: plan.runId,
    summary: `${what} waits for approval until ${until} (${why}); answer with \`stepops approve ${plan.runId}\` or \`stepops reject ${plan.runId}\`${actions.length ? ' or the links' : ''}`,
    cause: [
      step ? `step "${step.name}" will act on:` : 'the steps will act on:',
      ...resourceLines(plan, input.context, step),
      '',
      plan.planText,
      '',
      ...input.context.checks.map((c) => `checked: ${c}`),
    ].join('\n'),
    ...(executionUrl ? { executionUrl } : {}),
    ...(actions.length ? { actions } : {}),
    at: new Date(deps.now()).toISOString(),
  });
  return { requested: true, expiresAt: until };
}

/**
 * The Step Functions console link of an execution ARN (undefined for local runs).
 *
 * @example
 * consoleUrl('arn:aws:states:eu-west-1:123456789012:execution:stepops-recover:run-1')
 * // 'https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/arn:aws:states:…'
 */
export function consoleUrl(executionId: string): string | undefined {
  const region = executionId.split(':')[3];
  if (!region || region === 'local') return undefined;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${executionId}`;
}

/**
 * The errors Step Functions (and the local engine, by the same names) answers `SendTaskSuccess` /
 * `SendTaskFailure` with when no run waits for the token any more: it expired or its task closed
 * (`TaskTimedOut`), the task is gone (`TaskDoesNotExist`), or the token is not one it knows
 * (`InvalidToken`). See the SendTaskSuccess API reference.
 */
const TASK_CLOSED_ERRORS = new Set(['TaskTimedOut', 'TaskDoesNotExist', 'InvalidToken']);

/**
 * Answers a run's approval once: records the decision in the store (a second answer, or one after
 * the expiry, raises ApprovalClosedError), then answers the waiting Task: success with
 * `{ approved: true, by, at }`, or failure with `ApprovalRejectedError`. The store says "approved"
 * only once the run was told: when the Task cannot be answered, the record is opened again.
 *
 * @throws ApprovalClosedError when the approval was answered already, expired or never asked
 * @throws ApprovalRunEndedError when the run no longer waits (it ended, or its approval timed out)
 * @throws ApprovalNotDeliveredError when the answer could not reach the run (the approval stays open)
 * @example
 * await answerApproval({ runId: 'run-1', decision: 'approved', by: 'ana' }, store, answerer)
 */
export async function answerApproval(
  request: {
    runId: string;
    decision: Decision;
    by: string;
    comment?: string;
    /** Answer only the request of this step (`''`: the run's own), as a signed link does. */
    step?: string;
  },
  store: ApprovalStore,
  answerer: TaskAnswerer,
  now: () => number = Date.now,
): Promise<ApprovalRecord> {
  const record = await store.answer(
    request.runId,
    request.decision,
    request.by,
    request.comment,
    request.step,
  );
  try {
    if (request.decision === 'approved') {
      const output: ApprovalAnswer = {
        approved: true,
        by: request.by,
        at: new Date(now()).toISOString(),
        ...(request.comment ? { comment: request.comment } : {}),
      };
      await answerer.succeed(record.token, output);
    } else {
      const rejected = new ApprovalRejectedError(
        `rejected by ${request.by}${request.comment ? `: ${request.comment}` : ''}; ${record.step ? `step "${record.step}" and the steps after it did not run` : 'nothing was changed'}`,
      );
      await answerer.fail(record.token, rejected.name, rejected.message);
    }
  } catch (error) {
    const reopened = await store.reopen(request.runId, request.decision, request.by).then(
      () => true,
      () => false,
    );
    const name = (error as { name?: unknown } | null)?.name;
    if (typeof name === 'string' && TASK_CLOSED_ERRORS.has(name)) {
      throw new ApprovalRunEndedError(
        `run ${request.runId} no longer waits for approval: it has ended, or its approval timed out (${name}); it was not ${request.decision}`,
      );
    }
    throw new ApprovalNotDeliveredError(
      `the answer could not reach run ${request.runId} (${typeof name === 'string' ? name : 'error'}: ${String((error as Error | null)?.message).replaceAll(record.token, '<task token>')})${reopened ? '; the approval is open again: answer it once more' : ''}`,
      { cause: error },
    );
  }
  return record;
}
