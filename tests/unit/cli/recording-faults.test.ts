/**
 * Recording a local run is best effort: when the disk is full, `stepops deploy` still rolls back a
 * broken release, alerts and releases its lease; it only warns that the run's record is incomplete.
 * The recorder's writes fail as on a full disk (ENOSPC), through an injected `node:fs`.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { deploy } from '../../../cli/commands/deploy.ts';
import type { Output } from '../../../cli/output.ts';
import { clearRegisteredTargets } from '../../../shared/config/registry.ts';
import { createLab, type Lab } from '../../workflows/fixtures.ts';

/** Paths under `under` refuse writes, as a full disk does, once `allowed` appends went through. */
const full = vi.hoisted(() => ({ under: undefined as string | undefined, allowed: 0, refused: 0 }));

vi.mock('node:fs', async (importOriginal) => {
  const actual = await importOriginal<typeof import('node:fs')>();
  const refuse = <A extends unknown[], R>(write: (...args: A) => R) =>
    ((...args: A): R => {
      const target = String(args[0]);
      if (full.under && target.startsWith(full.under) && full.allowed-- <= 0) {
        full.refused += 1;
        throw Object.assign(new Error(`ENOSPC: no space left on device, write '${target}'`), {
          code: 'ENOSPC',
          errno: -28,
          syscall: 'write',
        });
      }
      return write(...args);
    }) as (...args: A) => R;
  const patched = {
    ...actual,
    appendFileSync: refuse(actual.appendFileSync),
    writeFileSync: refuse(actual.writeFileSync),
    renameSync: refuse(actual.renameSync),
  };
  return { ...patched, default: patched };
});

let lab: Lab;
let lines: string[];
const output: Output = {
  out: (text) => lines.push(...text.replace(/\n$/, '').split('\n')),
  err: (text) => lines.push(...text.replace(/\n$/, '').split('\n')),
};

beforeAll(async () => {
  process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
  lab = await createLab();
  await lab.target('full-disk', {
    steps: [
      'if [ "$STEPOPS_REF" = v-bad ]; then echo broken > state; else echo ok > state; fi',
      'echo "$STEPOPS_REF" > version',
    ],
    rollback: ['echo ok > state', 'echo v-good > version'],
    gateTimeout: 3,
  });
});
afterAll(async () => {
  full.under = undefined;
  await lab.close();
  clearRegisteredTargets();
});

describe('stepops deploy on a full disk', () => {
  it('rolls back the broken release, alerts and releases the lease; it only warns that the record is incomplete', async () => {
    // Prepare: the disk fills up mid-run, after the record and its first events were written
    lines = [];
    full.under = path.join(lab.home, 'runs');
    full.allowed = 6;

    // Act
    const code = await deploy(
      'full-disk',
      { ref: 'v-bad', reason: 'full disk' },
      { output, env: { USER: 'ana' } as NodeJS.ProcessEnv, interactive: false },
    );

    // Assess
    const text = lines.join('\n');
    expect(full.refused).toBeGreaterThan(0);
    expect(code, text).toBe(1);
    expect(text).toContain('✖ deploy of full-disk at v-bad failed');
    expect(readFileSync(path.join(lab.hostDir('full-disk'), 'state'), 'utf8').trim()).toBe('ok');
    expect(readFileSync(path.join(lab.hostDir('full-disk'), 'version'), 'utf8').trim()).toBe('v-good');
    expect((await lab.notifications()).map((n) => [n.target, n.outcome])).toContainEqual([
      'full-disk',
      'rolled-back',
    ]);
    expect(existsSync(path.join(lab.home, 'leases'))).toBe(true);
    expect(existsSync(path.join(lab.home, 'leases', 'target_full-disk.json'))).toBe(false);
    expect(text).toMatch(
      /stepops: warning: the record of run full-disk-[0-9a-f]{16} under .* is incomplete: ENOSPC/,
    );
  }, 60_000);
});
