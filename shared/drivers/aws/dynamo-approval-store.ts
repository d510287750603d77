/**
 * DynamoDB approval store: one item per recovery run in the state table (`pk` =
 * `approval#<runId>`), answered once with a conditional update.
 *
 * IAM: `dynamodb:PutItem`, `dynamodb:GetItem`, `dynamodb:UpdateItem` on the table (`reopen` is an
 * UpdateItem too).
 */
import {
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { ApprovalClosedError } from '../errors.ts';
import type { ApprovalRecord, ApprovalStore } from '../ports.ts';
import { dynamoClient } from './dynamo-client.ts';

/** Items outlive their expiry by a day, so that a late click is told why it is too late. */
const KEEP_SECONDS = 86_400;

/**
 * The partition key of an approval item.
 *
 * @example
 * approvalKey('run-1') // 'approval#run-1'
 */
export function approvalKey(runId: string): string {
  return `approval#${runId}`;
}

type Item = Record<string, { S?: string; N?: string }>;

function fromItem(item: Item | undefined): ApprovalRecord | undefined {
  if (!item?.runId?.S || !item.token?.S) return undefined;
  return {
    runId: item.runId.S,
    target: item.target?.S ?? '',
    runbook: item.runbook?.S ?? '',
    token: item.token.S,
    expiresAt: Number(item.approvalExpiresAt?.N ?? 0),
    status: (item.status?.S ?? 'pending') as ApprovalRecord['status'],
    ...(item.step?.S ? { step: item.step.S } : {}),
    ...(item.answeredBy?.S ? { answeredBy: item.answeredBy.S } : {}),
    ...(item.comment?.S ? { comment: item.comment.S } : {}),
  };
}

export interface DynamoApprovalStoreOptions {
  client?: DynamoDBClient;
  now?: () => number;
}

/**
 * Approval requests in DynamoDB.
 *
 * @example
 * const store = new DynamoApprovalStore('stepops-state');
 * const record = await store.answer('run-1', 'approved', 'ana');
 */
export class DynamoApprovalStore implements ApprovalStore {
  readonly #table: string;
  readonly #client: DynamoDBClient;
  readonly #now: () => number;

  constructor(tableName: string, options: DynamoApprovalStoreOptions = {}) {
    this.#table = tableName;
    this.#client = options.client ?? dynamoClient();
    this.#now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  async put(record: ApprovalRecord): Promise<void> {
    await this.#client.send(
      new PutItemCommand({
        TableName: this.#table,
        Item: {
          pk: { S: approvalKey(record.runId) },
          runId: { S: record.runId },
          target: { S: record.target },
          runbook: { S: record.runbook },
          token: { S: record.token },
          status: { S: record.status },
          approvalExpiresAt: { N: String(record.expiresAt) },
          expiresAt: { N: String(record.expiresAt + KEEP_SECONDS) },
          ...(record.step ? { step: { S: record.step } } : {}),
        },
      }),
    );
  }

  async get(runId: string): Promise<ApprovalRecord | undefined> {
    const output = await this.#client.send(
      new GetItemCommand({
        TableName: this.#table,
        Key: { pk: { S: approvalKey(runId) } },
        ConsistentRead: true,
      }),
    );
    return fromItem(output.Item as Item | undefined);
  }

  async answer(
    runId: string,
    decision: 'approved' | 'rejected',
    by: string,
    comment?: string,
    forStep?: string,
  ): Promise<ApprovalRecord> {
    const stepCondition =
      forStep === undefined ? '' : forStep === '' ? ' AND attribute_not_exists(#step)' : ' AND #step = :step';
    try {
      const output = await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: approvalKey(runId) } },
          ConditionExpression: `#status = :pending AND approvalExpiresAt > :now${stepCondition}`,
          UpdateExpression: `SET #status = :decision, answeredBy = :by${comment ? ', #comment = :comment' : ''}`,
          ExpressionAttributeNames: {
            '#status': 'status',
            ...(comment ? { '#comment': 'comment' } : {}),
            ...(stepCondition ? { '#step': 'step' } : {}),
          },
          ExpressionAttributeValues: {
            ':pending': { S: 'pending' },
            ...(forStep ? { ':step': { S: forStep } } : {}),
            ':now': { N: String(this.#now()) },
            ':decision': { S: decision },
            ':by': { S: by },
            ...(comment ? { ':comment': { S: comment } } : {}),
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const record = fromItem(output.Attributes as Item | undefined);
      if (!record) throw new ApprovalClosedError(`no approval request for run ${runId}`);
      return record;
    } catch (error) {
      if (
        error instanceof ConditionalCheckFailedException ||
        (error as { name?: string }).name === 'ConditionalCheckFailedException'
      ) {
        const current = await this.get(runId);
        throw new ApprovalClosedError(
          !current
            ? `no approval request for run ${runId}`
            : forStep !== undefined && (current.step ?? '') !== forStep
              ? `this approval of run ${runId} is closed: the run now waits for ${current.step ? `the approval of step "${current.step}"` : 'its own approval'}, which has its own request`
              : current.status !== 'pending'
                ? `the approval of run ${runId} was already answered (${current.status}${current.answeredBy ? ` by ${current.answeredBy}` : ''})`
                : `the approval of run ${runId} expired at ${new Date(current.expiresAt * 1000).toISOString()}`,
        );
      }
      throw error;
    }
  }

  async reopen(runId: string, decision: 'approved' | 'rejected', by: string): Promise<void> {
    try {
      await this.#client.send(
        new UpdateItemCommand({
          TableName: this.#table,
          Key: { pk: { S: approvalKey(runId) } },
          ConditionExpression: '#status = :decision AND answeredBy = :by',
          UpdateExpression: 'SET #status = :pending REMOVE answeredBy, #comment',
          ExpressionAttributeNames: { '#status': 'status', '#comment': 'comment' },
          ExpressionAttributeValues: {
            ':decision': { S: decision },
            ':by': { S: by },
            ':pending': { S: 'pending' },
          },
        }),
      );
    } catch (error) {
      // Someone else's answer, or no request any more: nothing of ours to open again.
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') return;
      throw error;
    }
  }
}
