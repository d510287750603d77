/**
 * The approval request of one destructive step (a runbook approved before each destructive step),
 * and the resource lines every request shows, checked against a plan written out here: the stored
 * record names the step, the links sign it, the summary and the cause say which step of how many
 * and list only that step's resources. Fast and in one process (the workflow test of the same
 * behaviour, `tests/workflows/recover.step-approval.test.ts`, runs the engine).
 */
import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import type { Target } from '../../../shared/config/schema.ts';
import type { ApprovalRecord, ApprovalStore, Notification } from '../../../shared/drivers/ports.ts';
import { requestApprovalStep, resourceLines } from '../../../shared/recovery/approval.ts';
import type { RecoveryContext, RecoveryRunPlan } from '../../../shared/recovery/contracts.ts';
import { recoveryDepsWith } from '../../../shared/recovery/deps.ts';

const SECRET = 'step-secret';
/** 2027-01-15T08:00:00.000Z */
const NOW_MS = 1_800_000_000_000;
/** NOW + the plan's approval timeout (3600 s), in epoch seconds. */
const EXPIRES = 1_800_003_600;
const UNTIL = '2027-01-15T09:00:00.000Z';

const STOP_API = {
  index: 0,
  name: 'stop-api',
  type: 'command',
  kind: 'command' as const,
  description: 'stops the API',
  destructive: false,
  approve: false,
  timeoutSeconds: 60,
};
const SWAP_NAMES = {
  index: 1,
  name: 'swap-names',
  type: 'restore-rds',
  kind: 'restore-rds' as const,
  description: 'swaps the database names',
  destructive: true,
  approve: true,
  timeoutSeconds: 1800,
};
const START_API = {
  index: 2,
  name: 'start-api',
  type: 'command',
  kind: 'command' as const,
  description: 'starts the API',
  destructive: false,
  approve: false,
  timeoutSeconds: 60,
};

const PLAN: RecoveryRunPlan = {
  target: 'datizmo',
  runbook: 'restore-database',
  runId: 'run-7',
  reason: 'migration broke',
  requestedBy: 'ana',
  trigger: 'manual',
  params: {},
  steps: [STOP_API, SWAP_NAMES, START_API],
  approval: { required: true, why: 'destructive steps: swap-names', timeoutSeconds: 3600 },
  verify: { enabled: false, probes: [], timeoutSeconds: 60, intervalSeconds: 5 },
  lockTtlSeconds: 3600,
  planText: 'THE PLAN',
};

/** `stop-api` acts on nothing listed, `swap-names` on two resources, `start-api` is not in the map. */
const CONTEXT: RecoveryContext = {
  instanceIds: [],
  steps: {},
  checks: ['snapshot snap-1 found', 'api-health is failing'],
  resources: {
    'stop-api': [],
    'swap-names': [
      { kind: 'db-instance', id: 'datizmo-prod', change: 'renamed to datizmo-prod-old' },
      { kind: 'db-snapshot', id: 'snap-1', change: 'restored as datizmo-prod' },
    ],
  },
};

const sign = (decision: string, step: string) =>
  createHmac('sha256', SECRET)
    .update(`stepops-approval\nrun-7\n${decision}\n${EXPIRES}\nstep\n${step}`)
    .digest('hex');

function world() {
  const stored: ApprovalRecord[] = [];
  const published: Notification[] = [];
  const store: ApprovalStore = {
    put: async (record) => void stored.push(record),
    get: async () => undefined,
    answer: async () => {
      throw new Error('not answered here');
    },
    reopen: async () => {
      throw new Error('not reopened here');
    },
  };
  const deps = recoveryDepsWith({
    now: () => NOW_MS,
    findTarget: (name) => ({ name }) as unknown as Target,
    approvals: () => store,
    notifier: () => ({ publish: async (n: Notification) => void published.push(n) }),
    approvalLinks: async () => ({ baseUrl: 'https://api.example.com/', secret: SECRET }),
  });
  return { stored, published, deps };
}

describe('resourceLines', () => {
  it('lists every step: its description when it lists no resources, else one line per resource', () => {
    expect(resourceLines(PLAN, CONTEXT)).toEqual([
      'step 1 stop-api (command): stops the API',
      'step 2 swap-names (restore-rds, destructive):',
      '  - db-instance datizmo-prod: renamed to datizmo-prod-old',
      '  - db-snapshot snap-1: restored as datizmo-prod',
      'step 3 start-api (command): starts the API',
    ]);
  });

  it('lists only the given step for the approval of one step', () => {
    expect(resourceLines(PLAN, CONTEXT, SWAP_NAMES)).toEqual([
      'step 2 swap-names (restore-rds, destructive):',
      '  - db-instance datizmo-prod: renamed to datizmo-prod-old',
      '  - db-snapshot snap-1: restored as datizmo-prod',
    ]);
    expect(resourceLines(PLAN, CONTEXT, START_API)).toEqual(['step 3 start-api (command): starts the API']);
  });

  it('gives each step its description when the pre-flight listed no resources at all', () => {
    expect(resourceLines(PLAN, { ...CONTEXT, resources: undefined })).toEqual([
      'step 1 stop-api (command): stops the API',
      'step 2 swap-names (restore-rds, destructive): swaps the database names',
      'step 3 start-api (command): starts the API',
    ]);
  });
});

describe('the approval request of one step', () => {
  it('stores the step with the token, signs it into the links, and shows only that step', async () => {
    // Prepare
    const { stored, published, deps } = world();

    // Act
    const answer = await requestApprovalStep(
      {
        taskToken: 'token-7',
        plan: PLAN,
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:stepops-prod-recover:run-7',
        context: CONTEXT,
        step: SWAP_NAMES,
      },
      deps,
    );

    // Assess
    expect(answer).toEqual({ requested: true, expiresAt: UNTIL });
    expect(stored).toEqual([
      {
        runId: 'run-7',
        target: 'datizmo',
        runbook: 'restore-database',
        token: 'token-7',
        expiresAt: EXPIRES,
        status: 'pending',
        step: 'swap-names',
      },
    ]);
    expect(published).toHaveLength(1);
    const [n] = published;
    expect(n?.actions).toEqual([
      {
        label: 'Approve',
        url: `https://api.example.com/approvals/run-7/approve?expires=${EXPIRES}&step=swap-names&signature=${sign('approved', 'swap-names')}`,
      },
      {
        label: 'Reject',
        url: `https://api.example.com/approvals/run-7/reject?expires=${EXPIRES}&step=swap-names&signature=${sign('rejected', 'swap-names')}`,
      },
    ]);
    expect(n?.summary).toBe(
      `step 2 of 3, "swap-names" (restore-rds), of recovery "restore-database" of datizmo waits for approval until ${UNTIL} (a destructive step; each is approved on its own); answer with \`stepops approve run-7\` or \`stepops reject run-7\` or the links`,
    );
    expect(n?.cause).toBe(
      [
        'step "swap-names" will act on:',
        'step 2 swap-names (restore-rds, destructive):',
        '  - db-instance datizmo-prod: renamed to datizmo-prod-old',
        '  - db-snapshot snap-1: restored as datizmo-prod',
        '',
        'THE PLAN',
        '',
        'checked: snapshot snap-1 found',
        'checked: api-health is failing',
      ].join('\n'),
    );
  });

  it('the run’s own request stores no step and lists every step’s resources', async () => {
    // Prepare
    const { stored, published, deps } = world();

    // Act
    await requestApprovalStep(
      {
        taskToken: 'token-7',
        plan: PLAN,
        executionId: 'arn:aws:states:local:0:execution:x:run-7',
        context: CONTEXT,
      },
      deps,
    );

    // Assess
    expect(stored).toHaveLength(1);
    expect(stored[0]).not.toHaveProperty('step');
    expect(published[0]?.summary).toBe(
      `recovery "restore-database" of datizmo waits for approval until ${UNTIL} (destructive steps: swap-names); answer with \`stepops approve run-7\` or \`stepops reject run-7\` or the links`,
    );
    expect(published[0]?.actions?.map((a) => a.url)).toEqual([
      `https://api.example.com/approvals/run-7/approve?expires=${EXPIRES}&signature=${createHmac('sha256', SECRET).update(`stepops-approval\nrun-7\napproved\n${EXPIRES}`).digest('hex')}`,
      `https://api.example.com/approvals/run-7/reject?expires=${EXPIRES}&signature=${createHmac('sha256', SECRET).update(`stepops-approval\nrun-7\nrejected\n${EXPIRES}`).digest('hex')}`,
    ]);
    expect(published[0]?.cause).toBe(
      [
        'the steps will act on:',
        'step 1 stop-api (command): stops the API',
        'step 2 swap-names (restore-rds, destructive):',
        '  - db-instance datizmo-prod: renamed to datizmo-prod-old',
        '  - db-snapshot snap-1: restored as datizmo-prod',
        'step 3 start-api (command): starts the API',
        '',
        'THE PLAN',
        '',
        'checked: snapshot snap-1 found',
        'checked: api-health is failing',
      ].join('\n'),
    );
  });
});
