/**
 * A dump to S3 from a host without the AWS CLI: the dump command carries no URL; once it is done,
 * the poll presigns the PUT (in the bucket's region, valid for the upload's attempts only) and sends
 * the short upload command, whose handle the workflow polls next; the copy is complete only when
 * the upload reports the very dump the dump command reported.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobHandle } from '../../../shared/backup/contracts.ts';
import type { BackupCapabilities, BackupDeps } from '../../../shared/backup/deps.ts';
import { uploadWindowSeconds } from '../../../shared/backup/scripts.ts';
import { pollBackupStep } from '../../../shared/backup/steps/poll-backup.ts';
import { startBackupStep } from '../../../shared/backup/steps/start-backup.ts';
import { findTarget } from '../../../shared/config/registry.ts';
import type { Target } from '../../../shared/config/schema.ts';
import { objectStoreFor } from '../../../shared/drivers/backups.ts';
import type { CommandRequest, InvocationResult } from '../../../shared/drivers/ports.ts';
import { registerFilledTargets } from '../../fixtures/filled-targets.ts';
import { grantedLeases } from '../../helpers/leases.ts';

const HOST = { kind: 'ec2' as const, id: 'i-0123456789abcdef0', region: 'us-east-1' };
const SHA = 'ab'.repeat(32);
const SIZE = 300 * 1024 ** 2;

let clear: () => void;
const savedEnv = { ...process.env };
beforeAll(() => {
  clear = registerFilledTargets();
  process.env.AWS_ACCESS_KEY_ID = 'ASIAFAKEFAKEFAKE';
  process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
  process.env.AWS_SESSION_TOKEN = 'fake-session-token';
});
afterAll(() => {
  clear();
  process.env = savedEnv;
});

/** A host that answers each command with the next output, and the scripts it was sent. */
function world(outputs: string[]) {
  const sent: CommandRequest[] = [];
  const signed: { bucket: string; key: string; expires: number }[] = [];
  const clock = { now: Date.parse('2026-03-01T02:00:00Z') };
  const deps: BackupDeps = {
    findTarget,
    drivers: (target: Target) => {
      const objects = objectStoreFor(target);
      return {
        hosts: { resolve: async () => [HOST] },
        commands: {
          send: async (request: CommandRequest) => {
            sent.push(request);
            return { commandId: `cmd-${sent.length}`, hosts: request.hosts };
          },
          status: async (): Promise<InvocationResult[]> => [
            { hostId: HOST.id, state: 'succeeded', exitCode: 0, outputTail: outputs[sent.length - 1] ?? '' },
          ],
        },
        objects: {
          ...objects,
          uri: objects.uri.bind(objects),
          uploadUrl: (bucket: string, key: string, tags: Record<string, string>, expires: number) => {
            signed.push({ bucket, key, expires });
            return objects.uploadUrl(bucket, key, tags, expires);
          },
        },
        secrets: { kind: 'ssm', region: 'us-east-1' },
        leases: grantedLeases,
      } as unknown as BackupCapabilities;
    },
    fallbackNotifier: () => {
      throw new Error('unused');
    },
    now: () => clock.now,
    sleep: async (ms) => {
      clock.now += ms;
    },
  };
  return { deps, sent, signed, clock };
}

const start = (deps: BackupDeps) =>
  startBackupStep({ target: 'docsai', runId: 'run-1', job: { name: 'database', type: 'dump' } }, deps);

describe('a presigned dump upload', () => {
  it('sends the dump command without any URL or session token', async () => {
    // Prepare
    const { deps, sent, signed } = world([]);

    // Act
    const handle = await start(deps);

    // Assess
    expect(signed).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(sent[0]?.script).not.toMatch(/X-Amz-|fake-session-token|https:\/\//);
    expect(handle.upload).toEqual({ spool: '/var/tmp/stepops-spool/docsai-database-run-1', phase: 'dump' });
  });

  it('presigns the PUT only when the dump is done, in the bucket region, for the upload window only', async () => {
    // Prepare
    const { deps, sent, signed, clock } = world([
      `==> dump database\nSTEPOPS_DUMP_RESULT sha256=${SHA} size=${SIZE}\n`,
      `==> upload\nSTEPOPS_UPLOAD_RESULT sha256=${SHA} size=${SIZE}\n`,
    ]);
    const handle = await start(deps);
    clock.now += 5 * 3600_000; // a five-hour dump: longer than a Lambda session's URL would have lived

    // Act
    const status = await pollBackupStep({ handle }, deps, () => 85_000);

    // Assess
    expect(signed).toEqual([
      { bucket: 'docsai-stepops-backups', key: handle.object?.key, expires: uploadWindowSeconds(SIZE) },
    ]);
    expect(uploadWindowSeconds(SIZE)).toBeLessThan(3 * 3600);
    const upload = sent[1]?.script ?? '';
    const url = new URL(/upload_url='([^']+)'/.exec(upload)?.[1] ?? 'http://missing');
    expect(url.hostname).toBe('docsai-stepops-backups.s3.us-east-1.amazonaws.com');
    expect(url.searchParams.get('X-Amz-Credential')).toMatch(/\/us-east-1\/s3\/aws4_request$/);
    expect(Number(url.searchParams.get('X-Amz-Expires'))).toBe(uploadWindowSeconds(SIZE));
    expect(upload).toContain(`spool='/var/tmp/stepops-spool/docsai-database-run-1'`);
    expect(status).toMatchObject({ status: 'completed', sha256: SHA, sizeBytes: SIZE });
    expect(status.handle).toMatchObject({
      command: { commandId: 'cmd-2' },
      upload: { phase: 'upload', sha256: SHA, sizeBytes: SIZE },
    });
    const deadline = (status.handle as JobHandle).deadline;
    expect(deadline).toBeGreaterThan(clock.now);
    expect(deadline).toBeLessThanOrEqual(clock.now + (uploadWindowSeconds(SIZE) + 180) * 1000);
  });

  it('fails the copy when the upload command uploaded something else than the dump reported', async () => {
    // Prepare
    const { deps } = world([
      `STEPOPS_DUMP_RESULT sha256=${SHA} size=${SIZE}\n`,
      `STEPOPS_UPLOAD_RESULT sha256=${'cd'.repeat(32)} size=${SIZE}\n`,
    ]);
    const handle = await start(deps);

    // Act
    const status = await pollBackupStep({ handle }, deps, () => 85_000);

    // Assess
    expect(status.status).toBe('failed');
    expect(status.detail).toContain('the upload printed no result line for the dump it was given');
  });

  it('returns the upload handle while the upload still runs, so the workflow polls it next', async () => {
    // Prepare
    const { deps, sent } = world([`STEPOPS_DUMP_RESULT sha256=${SHA} size=${SIZE}\n`]);
    const handle = await start(deps);
    const running = {
      ...deps,
      drivers: (target: Target) => {
        const drivers = deps.drivers(target);
        return {
          ...drivers,
          commands: {
            send: drivers.commands.send,
            status: async (h: { commandId: string }) =>
              h.commandId === 'cmd-1'
                ? drivers.commands.status(h as never)
                : [{ hostId: HOST.id, state: 'running' as const, outputTail: '' }],
          },
        };
      },
    } as BackupDeps;

    // Act
    const status = await pollBackupStep({ handle }, running, () => 85_000);
    const again = await pollBackupStep({ handle: status.handle as JobHandle }, running, () => 85_000);

    // Assess
    expect(status.status).toBe('running');
    expect(status.handle?.command?.commandId).toBe('cmd-2');
    expect(again.status).toBe('running');
    expect(again.handle).toBeUndefined();
    expect(sent).toHaveLength(2);
  });
});
