import { readFileSync } from 'node:fs';
import aslLanguageService from 'amazon-states-language-service';
import aslValidator from 'asl-validator';
import { describe, expect, it } from 'vitest';
import { backupRequestSchema } from '../../shared/backup/contracts.ts';
import { inspectDefinition } from '../../shared/engine/index.ts';
import {
  localArns,
  type State,
  type StateMachineDefinition,
  TRANSIENT_LAMBDA_ERRORS,
} from '../../workflows/asl.ts';
import { BACKUP_FUNCTIONS, BACKUP_TASK_TIMEOUTS, backupWorkflow } from '../../workflows/backup.ts';

const { getLanguageService, TextDocument } = aslLanguageService;
const definition = backupWorkflow(localArns(BACKUP_FUNCTIONS));

interface Site {
  name: string;
  state: State;
  parentMap: string | undefined;
}

function allStates(machine: StateMachineDefinition, parentMap?: string): Site[] {
  return Object.entries(machine.States).flatMap(([name, state]) => [
    { name, state, parentMap },
    ...(state.Type === 'Map' ? allStates(state.ItemProcessor, name) : []),
  ]);
}

/** Where a state may go next; the end of an iteration continues at its Map's Next. */
function successors(site: Site, sites: Map<string, Site>): string[] {
  const { state } = site;
  const next: string[] = [];
  if ('Next' in state && state.Next) next.push(state.Next);
  if (state.Type === 'Choice') {
    next.push(...state.Choices.map((c) => c.Next));
    if (state.Default) next.push(state.Default);
  }
  if ('Catch' in state) next.push(...(state.Catch ?? []).map((c) => c.Next));
  const ends = ('End' in state && state.End) || state.Type === 'Succeed' || state.Type === 'Fail';
  if (ends && site.parentMap) {
    const map = sites.get(site.parentMap)?.state;
    if (map && 'Next' in map && map.Next) next.push(map.Next);
    if (map && state.Type === 'Fail' && 'Catch' in map) next.push(...(map.Catch ?? []).map((c) => c.Next));
  }
  return next;
}

function reaches(start: string, goal: string): boolean {
  const sites = new Map(allStates(definition).map((s) => [s.name, s]));
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const name = queue.shift() as string;
    if (name === goal) return true;
    if (seen.has(name)) continue;
    seen.add(name);
    const site = sites.get(name);
    if (site) queue.push(...successors(site, sites));
  }
  return false;
}

describe('backup workflow definition', () => {
  it('passes asl-validator with ARN and path checks', () => {
    // Act
    const { isValid, errorsText } = aslValidator(definition as never, { checkArn: true, checkPaths: true });

    // Assess
    expect(errorsText('\n')).toBe('');
    expect(isValid).toBe(true);
  });

  it('passes amazon-states-language-service without a diagnostic', async () => {
    // Prepare
    const service = getLanguageService({});
    const document = TextDocument.create(
      'file:///backup.asl.json',
      'json',
      1,
      JSON.stringify(definition, null, 2),
    );

    // Act
    const diagnostics = await service.doValidation(document, service.parseJSONDocument(document));

    // Assess
    expect(diagnostics.map((d) => d.message)).toEqual([]);
  });

  it('uses nothing the local engine refuses, and never waits with a fixed Wait', () => {
    expect(inspectDefinition(definition).offences).toEqual([]);
    expect(JSON.stringify(definition)).not.toMatch(
      /JSONata|"Assign"|waitForTaskToken|\.sync|ToleratedFailure|DISTRIBUTED/,
    );
    // Only the waits a poll asks for, between reads of a long job.
    const waits = allStates(definition).filter((s) => s.state.Type === 'Wait');
    expect(waits.map((w) => [w.name, w.state])).toEqual([
      [
        'WaitBeforePoll',
        expect.objectContaining({ SecondsPath: '$.status.waitSeconds', Next: 'WaitForJob' }),
      ],
      [
        'WaitBeforeRestorePoll',
        expect.objectContaining({ SecondsPath: '$.status.waitSeconds', Next: 'WaitForRestoreTest' }),
      ],
    ]);
    for (const w of waits) expect(w.state).not.toHaveProperty('Seconds');
  });

  it('gives every Task a timeout, the transient Lambda retry with jitter, and a catch that reaches Notify', () => {
    // Prepare
    const tasks = allStates(definition).filter((s) => s.state.Type === 'Task');

    // Assess
    const used = new Set(tasks.map((t) => (t.state as { Resource: string }).Resource.split(':').at(-1)));
    expect([...used].sort()).toEqual([...BACKUP_FUNCTIONS].sort());
    for (const { name, state } of tasks) {
      if (state.Type !== 'Task') continue;
      const fn = state.Resource.split(':').at(-1) as (typeof BACKUP_FUNCTIONS)[number];
      expect(state.TimeoutSeconds, name).toBe(BACKUP_TASK_TIMEOUTS[fn]);
      const transient = state.Retry?.find((r) =>
        TRANSIENT_LAMBDA_ERRORS.every((e) => r.ErrorEquals.includes(e)),
      );
      expect(transient, name).toMatchObject({ JitterStrategy: 'FULL', MaxAttempts: 3, BackoffRate: 2 });
      const catchAll = state.Catch?.find((c) => c.ErrorEquals.includes('States.ALL'));
      expect(catchAll, name).toBeDefined();
      if (name === 'Notify') expect(catchAll?.Next).toBe('NotifyFailed');
      else expect(reaches(catchAll?.Next as string, 'Notify'), `${name} → ${catchAll?.Next}`).toBe(true);
    }
  });

  it('long-polls with a Choice loop, and prunes only after a copy recorded good', () => {
    // Prepare
    const take = (definition.States.TakeBackups as { ItemProcessor: StateMachineDefinition }).ItemProcessor;

    // Assess
    expect(take.States.JobDone).toMatchObject({
      Type: 'Choice',
      Choices: [
        // A poll that moved the job on (a dump's upload command) hands the workflow its new handle.
        { Variable: '$.status.handle', IsPresent: true, Next: 'CarryJobHandle' },
      ],
      Default: 'JobStillRunning',
    });
    expect(take.States.CarryJobHandle).toMatchObject({
      Type: 'Pass',
      InputPath: '$.status.handle',
      ResultPath: '$.handle',
      Next: 'JobStillRunning',
    });
    expect(take.States.JobStillRunning).toMatchObject({
      Choices: [
        {
          And: [
            { Variable: '$.status.status', StringEquals: 'running' },
            { Variable: '$.status.waitSeconds', IsPresent: true },
          ],
          Next: 'WaitBeforePoll',
        },
        { Variable: '$.status.status', StringEquals: 'running', Next: 'WaitForJob' },
      ],
      Default: 'RecordBackup',
    });
    expect(take.States.CopyGood).toMatchObject({
      Choices: [{ Variable: '$.recorded.outcome', StringEquals: 'good', Next: 'PruneBackups' }],
      Default: 'JobFailed',
    });
    const intoPrune = Object.entries(take.States).filter(([, s]) =>
      successors({ name: '', state: s, parentMap: undefined }, new Map()).includes('PruneBackups'),
    );
    expect(intoPrune.map(([n]) => n)).toEqual(['CopyGood']);
    expect(definition.States.TakeBackups).toMatchObject({
      Type: 'Map',
      MaxConcurrencyPath: '$.plan.maxConcurrency',
    });
  });

  it('has an example input that is a valid backup request', () => {
    const example = JSON.parse(
      readFileSync(new URL('../../workflows/backup.example.json', import.meta.url), 'utf8'),
    );
    expect(backupRequestSchema.safeParse(example).success).toBe(true);
  });
});
