/**
 * The key schema of stepops' two DynamoDB tables, in the shape `sst.aws.Dynamo` takes (`fields`,
 * `primaryIndex`, `globalIndexes`, `ttl`). The stacks create the tables from these, and the tests
 * create the same tables on a DynamoDB-compatible server from these, so the adapters are tested
 * against the keys, index and TTL attribute that AWS will have.
 */

/** A key attribute's type, as `sst.aws.Dynamo` names it. */
export type DynamoFieldType = 'string' | 'number' | 'binary';

/** One table's keys, indexes and TTL attribute. */
export interface DynamoTableShape {
  /** Every attribute used as a key of the table or of an index (and only those). */
  readonly fields: Readonly<Record<string, DynamoFieldType>>;
  readonly primaryIndex: { readonly hashKey: string; readonly rangeKey?: string };
  /** Global secondary indexes, all attributes projected. */
  readonly globalIndexes?: Readonly<Record<string, { readonly hashKey: string; readonly rangeKey?: string }>>;
  /** The attribute (epoch seconds) after which DynamoDB deletes an item on its own. */
  readonly ttl?: string;
}

/** The index of the backups table that lists a target's copies, newest `startedAt` last. */
export const BY_TARGET_INDEX = 'byTarget';

/**
 * The state table: leases, health states and approvals, one item per `pk`, items expiring through
 * `expiresAt`.
 *
 * @example
 * new sst.aws.Dynamo('State', { ...STATE_TABLE, transform })
 */
export const STATE_TABLE = {
  fields: { pk: 'string' },
  primaryIndex: { hashKey: 'pk' },
  ttl: 'expiresAt',
} as const satisfies DynamoTableShape;

/**
 * The backup catalogue: one item per copy, hash key `job` (`<target>#<backup>`), range key `runId`,
 * and the index {@link BY_TARGET_INDEX} on `target` and `startedAt`.
 *
 * @example
 * new sst.aws.Dynamo('Backups', { ...BACKUPS_TABLE, transform })
 */
export const BACKUPS_TABLE = {
  fields: { job: 'string', runId: 'string', target: 'string', startedAt: 'string' },
  primaryIndex: { hashKey: 'job', rangeKey: 'runId' },
  globalIndexes: { [BY_TARGET_INDEX]: { hashKey: 'target', rangeKey: 'startedAt' } },
} as const satisfies DynamoTableShape;
