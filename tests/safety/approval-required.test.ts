/**
 * What always needs a human approval before a recovery acts, written out here and never computed
 * with the implementation's classifier: restore and replace steps always; a script, a restart or a
 * reboot only when the target marks it destructive; a whole runbook marked destructive; a run
 * started by a health alert unless the runbook is declared safe to run unattended.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { discoveredTargetInputs } from '../../shared/config/registry.ts';
import type { RunbookStep, TargetInput } from '../../shared/config/schema.ts';
import { recoveryDepsWith } from '../../shared/recovery/deps.ts';
import { HEALTH_REQUESTER, isDestructive, planRecoveryStep } from '../../shared/recovery/run.ts';
import { registerFilledTargets } from '../fixtures/filled-targets.ts';

/** The spec: does a step of this type need approval whatever the target says? */
const ALWAYS_NEEDS_APPROVAL: Record<RunbookStep['type'], boolean> = {
  script: false,
  restart: false,
  reboot: false,
  'restore-volume': true,
  'restore-rds': true,
  'restore-dump': true,
  'replace-instance': true,
};

/** One step of each type, as a target would write it (defaults filled in as the schema does). */
function stepOf(type: RunbookStep['type'], destructive: boolean): RunbookStep {
  const steps: Record<RunbookStep['type'], unknown> = {
    script: { type, name: 's', script: 'true', timeout: 60, destructive },
    restart: { type, name: 's', manager: 'systemd', services: ['api'], timeout: 120, destructive },
    reboot: { type, name: 's', timeout: 600, destructive },
    'restore-volume': { type, name: 's', device: '/dev/sdf', snapshot: 'latest', timeout: 1800 },
    'restore-rds': { type, name: 's', dbInstance: 'db', snapshot: 'latest', timeout: 3600 },
    'restore-dump': { type, name: 's', backup: 'db', timeout: 1800 },
    'replace-instance': { type, name: 's', elasticIpAllocationId: 'eipalloc-1', timeout: 1800 },
  };
  return steps[type] as RunbookStep;
}

const deps = recoveryDepsWith({});
let forget: () => void;
beforeAll(() => {
  forget = registerFilledTargets();
});
afterAll(() => forget());

function plan(target: string, runbook: string, extra: Record<string, unknown> = {}) {
  return planRecoveryStep({ input: { target, runbook, reason: 'safety test', ...extra }, runId: 'r1' }, deps);
}

describe('what always needs approval', () => {
  it('classifies each step type by the written rule, marked destructive or not', () => {
    // Assess
    for (const type of Object.keys(ALWAYS_NEEDS_APPROVAL) as RunbookStep['type'][]) {
      expect(isDestructive(stepOf(type, false)), `${type}, not marked`).toBe(ALWAYS_NEEDS_APPROVAL[type]);
      expect(isDestructive(stepOf(type, true)), `${type}, marked destructive`).toBe(true);
    }
  });

  it("asks approval for datizmo's restore-database when started by hand: its restore-rds step swaps names with production", () => {
    // Act
    const manual = plan('datizmo', 'restore-database', { requestedBy: 'ana' });

    // Assess
    expect(manual.trigger).toBe('manual');
    expect(manual.approval.required).toBe(true);
    expect(manual.approval.why).toBe('destructive steps: restore-rds');
    expect(manual.steps.map((s) => [s.name, s.destructive])).toEqual([
      ['restore-rds', true],
      ['migrate-database', false],
      ['restart-backend', false],
    ]);
  });

  it('asks approval, when started by hand, for exactly the runbooks of the five systems that restore, replace or are marked', () => {
    // Prepare: the expectation from the target files and the table above, not from the classifier.
    const cases = [...discoveredTargetInputs()]
      .filter(([name]) => name !== 'demo')
      .flatMap(([name, input]) =>
        Object.entries((input as TargetInput).recovery ?? {}).map(([runbook, rb]) => {
          const steps = rb.steps as { type: RunbookStep['type']; name: string; destructive?: boolean }[];
          const expectedSteps = steps.map((s) => ALWAYS_NEEDS_APPROVAL[s.type] || s.destructive === true);
          return { name, runbook, expectedSteps, marked: rb.destructive === true };
        }),
      );
    expect(cases.length).toBeGreaterThanOrEqual(10);
    expect(cases.some((c) => c.expectedSteps.includes(true))).toBe(true);
    expect(cases.some((c) => !c.expectedSteps.includes(true) && !c.marked)).toBe(true);

    // Assess
    for (const c of cases) {
      const p = plan(c.name, c.runbook, { trigger: 'manual' });
      const where = `${c.name}/${c.runbook}`;
      expect(
        p.steps.map((s) => s.destructive),
        where,
      ).toEqual(c.expectedSteps);
      expect(p.approval.required, where).toBe(c.marked || c.expectedSteps.includes(true));
    }
  });

  it('asks approval for a run started by a health alert unless the runbook may run unattended', () => {
    // Prepare: runbooks of the five systems with no destructive step.
    const harmless = [...discoveredTargetInputs()]
      .filter(([name]) => name !== 'demo')
      .flatMap(([name, input]) =>
        Object.entries((input as TargetInput).recovery ?? {})
          .filter(
            ([, rb]) =>
              rb.destructive !== true &&
              (rb.steps as { type: RunbookStep['type']; destructive?: boolean }[]).every(
                (s) => !ALWAYS_NEEDS_APPROVAL[s.type] && s.destructive !== true,
              ),
          )
          .map(([runbook, rb]) => ({ name, runbook, unattended: rb.unattended === true })),
      );
    expect(harmless.length).toBeGreaterThan(0);

    // Assess
    for (const c of harmless) {
      const where = `${c.name}/${c.runbook}`;
      expect(plan(c.name, c.runbook, { trigger: 'manual' }).approval.required, where).toBe(false);
      const byAlert = plan(c.name, c.runbook, { requestedBy: HEALTH_REQUESTER });
      expect(byAlert.trigger, where).toBe('health-alert');
      expect(byAlert.approval.required, where).toBe(!c.unattended);
    }
  });

  it('never lets a restore or replace step run without approval, whatever else the runbook holds (property)', () => {
    // Prepare
    const types = Object.keys(ALWAYS_NEEDS_APPROVAL) as RunbookStep['type'][];
    const step = fc.record({ type: fc.constantFrom(...types), destructive: fc.boolean() });

    // Assess
    fc.assert(
      fc.property(fc.array(step, { minLength: 1, maxLength: 6 }), (steps) => {
        const classified = steps.map((s) => isDestructive(stepOf(s.type, s.destructive)));
        const expected = steps.map((s) => ALWAYS_NEEDS_APPROVAL[s.type] || s.destructive);
        expect(classified).toEqual(expected);
      }),
    );
  });
});
