import { describe, expect, it } from 'vitest';
import { findTarget } from '../../../shared/config/registry.ts';
import { type CatalogueCopy, CatalogueDumpLocator } from '../../../shared/recovery/dumps.ts';

describe('CatalogueDumpLocator', () => {
  it('restores the newest good copy, never a failed, running or deleted one', async () => {
    // Prepare
    const copies: CatalogueCopy[] = [
      {
        location: 's3://b/docsai/database/20260104T020000Z',
        outcome: 'failed',
        startedAt: '2026-01-04T02:00:00Z',
      },
      {
        location: 's3://b/docsai/database/20260105T020000Z',
        outcome: 'running',
        startedAt: '2026-01-05T02:00:00Z',
      },
      {
        location: 's3://b/docsai/database/20260101T020000Z',
        outcome: 'good',
        startedAt: '2026-01-01T02:00:00Z',
      },
      {
        location: 's3://b/docsai/database/20260103T020000Z',
        outcome: 'good',
        startedAt: '2026-01-03T02:00:00Z',
        finishedAt: '2026-01-03T02:04:00Z',
      },
      {
        location: 's3://b/docsai/database/20260102T020000Z',
        outcome: 'deleted',
        startedAt: '2026-01-02T02:00:00Z',
      },
    ];
    const asked: string[] = [];
    const locator = new CatalogueDumpLocator({
      list: async (target, backup) => {
        asked.push(`${target}/${backup}`);
        return copies;
      },
    });

    // Act
    const found = await locator.newestDump(findTarget('docsai'), 'database');

    // Assess
    expect(asked).toEqual(['docsai/database']);
    expect(found).toEqual({ uri: 's3://b/docsai/database/20260103T020000Z', at: '2026-01-03T02:04:00Z' });
  });

  it('finds nothing when the job has no good dump', async () => {
    const locator = new CatalogueDumpLocator({
      list: async () => [
        { location: 'ec2:eu-west-1:snap-0abc', outcome: 'good', startedAt: '2026-01-01T00:00:00Z' },
      ],
    });
    expect(await locator.newestDump(findTarget('docsai'), 'database')).toBeUndefined();
  });

  it('never restores a copy dated in the future or adopted, and compares instants, not text', async () => {
    // Prepare: the newest by instant is 02:00:00.500Z, which sorts before 02:00:00Z as text
    const copies: CatalogueCopy[] = [
      { location: 's3://b/docsai/database/future', outcome: 'good', startedAt: '2099-01-01T00:00:00Z' },
      {
        location: 's3://b/docsai/database/adopted',
        outcome: 'good',
        startedAt: '2026-01-09T00:00:00Z',
        adopted: true,
      },
      { location: 's3://b/docsai/database/whole-second', outcome: 'good', startedAt: '2026-01-08T02:00:00Z' },
      {
        location: 's3://b/docsai/database/half-second',
        outcome: 'good',
        startedAt: '2026-01-08T02:00:00.500Z',
      },
    ];
    const locator = new CatalogueDumpLocator({ list: async () => copies });

    // Act
    const found = await locator.newestDump(findTarget('docsai'), 'database');

    // Assess
    expect(found?.uri).toBe('s3://b/docsai/database/half-second');
  });
});
