/**
 * DynamoApprovalStore against a DynamoDB-compatible server (dynalite): an approval is answered
 * once, never after it expires, never for a run that asked for none, and two answers at once
 * cannot both win. The conditions are evaluated by the server.
 */
import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { describe, expect, it } from 'vitest';
import { approvalKey, DynamoApprovalStore } from '../../../shared/drivers/aws/dynamo-approval-store.ts';
import { STATE_TABLE } from '../../../shared/drivers/aws/dynamo-tables.ts';
import type { ApprovalRecord } from '../../../shared/drivers/ports.ts';
import { ApprovalClosedError } from '../../../shared/recovery/errors.ts';
import { useDynalite } from '../../helpers/dynalite.ts';

const dynamo = useDynalite();

const request: ApprovalRecord = {
  runId: 'run-1',
  target: 'zmanim',
  runbook: 'replace-instance',
  token: 'token-1',
  expiresAt: 2_000,
  status: 'pending',
};

function storeAt(table: string, now: number): DynamoApprovalStore {
  return new DynamoApprovalStore(table, { client: dynamo.client(), now: () => now });
}

describe('DynamoApprovalStore on dynalite', () => {
  it('stores a request that reads back whole, kept by the TTL a day past its expiry', async () => {
    // Prepare
    const { name, ttl } = await dynamo.table(STATE_TABLE);

    // Act
    await storeAt(name, 1_000).put(request);

    // Assess
    expect(await storeAt(name, 1_000).get('run-1')).toEqual(request);
    expect(await storeAt(name, 1_000).get('run-2')).toBeUndefined();
    const { Item: item } = await dynamo
      .client()
      .send(new GetItemCommand({ TableName: name, Key: { pk: { S: approvalKey('run-1') } } }));
    expect(item?.[ttl as string]).toEqual({ N: String(2_000 + 86_400) });
  });

  it('answers a pending request once, with who and why, and refuses a second answer saying so', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    await storeAt(name, 1_000).put(request);

    // Act
    const answered = await storeAt(name, 1_500).answer('run-1', 'approved', 'ana', 'disk is gone');
    const second = storeAt(name, 1_501).answer('run-1', 'rejected', 'bo');

    // Assess
    expect(answered).toEqual({ ...request, status: 'approved', answeredBy: 'ana', comment: 'disk is gone' });
    await expect(second).rejects.toThrow(ApprovalClosedError);
    await expect(second).rejects.toThrow('already answered (approved by ana)');
    expect(await storeAt(name, 1_502).get('run-1')).toMatchObject({ status: 'approved', answeredBy: 'ana' });
  });

  it('answers without a comment', async () => {
    const { name } = await dynamo.table(STATE_TABLE);
    await storeAt(name, 1_000).put(request);
    const answered = await storeAt(name, 1_000).answer('run-1', 'rejected', 'bo');
    expect(answered).toEqual({ ...request, status: 'rejected', answeredBy: 'bo' });
  });

  it('refuses an answer at or after the expiry, and leaves the request pending', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    await storeAt(name, 1_000).put(request);

    // Act
    const atExpiry = storeAt(name, 2_000).answer('run-1', 'approved', 'ana');
    const after = storeAt(name, 9_000).answer('run-1', 'approved', 'ana');

    // Assess
    await expect(atExpiry).rejects.toThrow(`expired at ${new Date(2_000_000).toISOString()}`);
    await expect(after).rejects.toThrow(ApprovalClosedError);
    expect((await storeAt(name, 9_000).get('run-1'))?.status).toBe('pending');
  });

  it('refuses an answer for a run that asked for none, and creates nothing', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);

    // Act
    const answer = storeAt(name, 1_000).answer('run-unknown', 'approved', 'ana');

    // Assess
    await expect(answer).rejects.toThrow('no approval request for run run-unknown');
    expect(await storeAt(name, 1_000).get('run-unknown')).toBeUndefined();
    const { Item: item } = await dynamo
      .client()
      .send(new GetItemCommand({ TableName: name, Key: { pk: { S: approvalKey('run-unknown') } } }));
    expect(item).toBeUndefined();
  });

  it('lets exactly one of two answers given at once win', async () => {
    // Prepare
    const { name } = await dynamo.table(STATE_TABLE);
    await storeAt(name, 1_000).put(request);

    // Act
    const results = await Promise.allSettled([
      storeAt(name, 1_000).answer('run-1', 'approved', 'ana'),
      storeAt(name, 1_000).answer('run-1', 'rejected', 'bo'),
      storeAt(name, 1_000).answer('run-1', 'approved', 'cy'),
    ]);

    // Assess
    const won = results.filter((r) => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    const winner = (won[0] as PromiseFulfilledResult<ApprovalRecord>).value;
    for (const lost of results.filter((r) => r.status === 'rejected')) {
      expect(lost.reason).toBeInstanceOf(ApprovalClosedError);
    }
    expect(await storeAt(name, 1_000).get('run-1')).toEqual(winner);
  });
});
