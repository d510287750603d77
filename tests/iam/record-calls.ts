/**
 * Imported by a test file that runs real handlers against mocked AWS clients: records every AWS call
 * the handlers send and, after the file's tests, fails the file if any call would be denied by the
 * IAM policy the stacks give the function that sent it (rendered for a stage of the targets the
 * tests registered). Permissions no call used are printed as a warning.
 *
 * @example
 * import '../iam/record-calls.ts';
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';
import { findTarget, isRegistered, listTargets } from '../../shared/config/registry.ts';
import type { Target } from '../../shared/config/schema.ts';
import type { Ec2Target, StatusPageMode } from '../../stacks/settings.ts';
import { REGION, ROOT } from '../infra/harness.ts';
import { type CheckedCall, checkCalls, formatDenials, unusedPermissions } from './check.ts';
import { type DeployedPolicy, type FunctionPolicies, renderFunctionPolicies, stageOf } from './policies.ts';
import { recordedCalls, setTargetsSource } from './recorder.ts';

/** The registered EC2 targets: the stage the calls of a test belong to. */
function registeredEc2Targets(): readonly Ec2Target[] {
  const targets: Ec2Target[] = [];
  for (const name of listTargets()) {
    if (!isRegistered(name)) continue;
    let target: Target;
    try {
      target = findTarget(name);
    } catch {
      continue;
    }
    if (target.hosts.type === 'ec2') targets.push(target as Ec2Target);
  }
  return targets;
}

setTargetsSource(registeredEc2Targets);

/** The real `fetch`, before a test stubs it: SST's components reach the (local) CLI server with it. */
const realFetch = globalThis.fetch;

/** The sources a rendered policy depends on, hashed: a cached rendering is reused only for the same code. */
function sourceHash(): string {
  const hash = createHash('sha256');
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name.localeCompare(b.name),
    )) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.ts')) hash.update(full).update(readFileSync(full));
    }
  };
  for (const dir of ['stacks', 'workflows', 'shared', 'targets']) walk(path.join(ROOT, dir));
  for (const file of ['tests/infra/harness.ts', 'tests/iam/policies.ts', 'package-lock.json']) {
    hash.update(readFileSync(path.join(ROOT, file)));
  }
  return hash.digest('hex');
}

let codeVersion: string | undefined;

/**
 * The policies of a stage of `targets` deployed in `region`, rendered once per code version and
 * set of targets (kept under the system's temporary directory: rendering the stacks takes seconds).
 *
 * @example
 * const policies = await stagePolicies([findTarget('docsai') as Ec2Target]);
 */
export function stagePolicies(
  targets: readonly Ec2Target[],
  stage = 'test',
  region = REGION,
  /** A stage with a status page (publish-status-page deployed). */
  statusPage?: StatusPageMode,
): Promise<FunctionPolicies> {
  codeVersion ??= sourceHash();
  return policiesFor(stage, region, targets, codeVersion, statusPage);
}

async function policiesFor(
  stage: string,
  region: string,
  targets: readonly Ec2Target[],
  code: string,
  statusPage?: StatusPageMode,
): Promise<FunctionPolicies> {
  const key = createHash('sha256')
    .update(code)
    .update(`${stage}:${region}:${statusPage ?? 'no status page'}`)
    .update(JSON.stringify(targets))
    .digest('hex')
    .slice(0, 32);
  const dir = path.join(tmpdir(), 'stepops-iam-policies');
  const file = path.join(dir, `${key}.json`);
  try {
    return new Map(JSON.parse(readFileSync(file, 'utf8')) as [string, DeployedPolicy[]][]);
  } catch {
    // not rendered yet
  }
  const stubbed = globalThis.fetch;
  globalThis.fetch = realFetch;
  let policies: FunctionPolicies;
  try {
    policies = await renderFunctionPolicies(
      stageOf(targets, stage, statusPage ? { statusPage } : {}),
      region,
    );
  } finally {
    globalThis.fetch = stubbed;
  }
  mkdirSync(dir, { recursive: true });
  writeFileSync(file, JSON.stringify([...policies]));
  return policies;
}

/**
 * Checks the calls recorded so far; throws naming every denied call.
 *
 * @example
 * afterAll(() => expectRecordedCallsAllowed());
 */
export async function expectRecordedCallsAllowed(): Promise<void> {
  const calls = recordedCalls();
  if (calls.length === 0) return;
  const ids = new WeakMap<object, number>();
  let next = 0;
  const groups = new Map<
    string,
    { stage: string; region: string; targets: readonly Ec2Target[]; calls: CheckedCall[] }
  >();
  for (const call of calls) {
    const targets = call.targets as readonly Ec2Target[];
    // The stage whose state table the handler was given (`stepops-<stage>-state`), else `test`.
    const stage = /^stepops-([a-z][a-z0-9-]*)-state$/.exec(call.stateTable ?? '')?.[1] ?? 'test';
    const region = call.lambdaRegion ?? REGION;
    const signature = `${stage}:${region}:${targets
      .map((t) => {
        if (!ids.has(t)) ids.set(t, next++);
        return ids.get(t);
      })
      .join(',')}`;
    const group = groups.get(signature) ?? { stage, region, targets, calls: [] };
    group.calls.push({ ...call, region: (await call.region) ?? region });
    groups.set(signature, group);
  }
  codeVersion ??= sourceHash();
  const code = codeVersion;
  const problems: string[] = [];
  for (const { stage, region, targets, calls: group } of groups.values()) {
    if (targets.length === 0) {
      problems.push(
        `${group.length} AWS calls were made with no EC2 target registered: register the targets the test uses`,
      );
      continue;
    }
    // Only a stage with a status page deploys publish-status-page.
    const statusPage = group.some((c) => c.functionName === 'publish-status-page') ? 'website' : undefined;
    const policies = await policiesFor(stage, region, targets, code, statusPage);
    const result = await checkCalls(group, policies);
    if (result.denials.length > 0) problems.push(formatDenials(result.denials));
    const unused = unusedPermissions(result.used, policies);
    if (unused.length > 0) console.warn(`IAM permissions no call of this file used:\n${unused.join('\n')}`);
  }
  if (problems.length > 0) {
    throw new Error(`AWS calls the functions' IAM policies deny:\n${problems.join('\n')}`);
  }
}

afterAll(expectRecordedCallsAllowed, 600_000);
