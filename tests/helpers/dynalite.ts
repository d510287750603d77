/**
 * A DynamoDB-compatible server for the adapter tests: dynalite (in memory) on 127.0.0.1 on a port
 * the system picks, one per test file, with tables created from the same key schemas the stacks
 * deploy (`shared/drivers/aws/dynamo-tables.ts`). Conditions, key conditions, paging and errors are
 * evaluated by the server, so a typo in an expression fails the test that sends it.
 *
 * dynalite implements no `UpdateTimeToLive`: the TTL attribute is returned by {@link useDynalite}'s
 * `table` so that tests can check the adapters write it, and expiry is checked by the adapters'
 * own conditions (AWS deletes expired items only eventually, "typically within a few days":
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/howitworks-ttl.html).
 */
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  type AttributeDefinition,
  CreateTableCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type KeySchemaElement,
} from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';
import type { DynamoFieldType, DynamoTableShape } from '../../shared/drivers/aws/dynamo-tables.ts';

const ATTRIBUTE_TYPE: Record<DynamoFieldType, 'S' | 'N' | 'B'> = { string: 'S', number: 'N', binary: 'B' };

/** A running dynalite server and a client pointed at it. */
export interface DynaliteServer {
  endpoint: string;
  client: DynamoDBClient;
  stop(): Promise<void>;
}

function keySchema(index: { hashKey: string; rangeKey?: string }): KeySchemaElement[] {
  return [
    { AttributeName: index.hashKey, KeyType: 'HASH' },
    ...(index.rangeKey ? [{ AttributeName: index.rangeKey, KeyType: 'RANGE' as const }] : []),
  ];
}

/**
 * A client for an endpoint: region eu-west-1, dummy credentials, no retries (an error is the answer).
 *
 * @example
 * const client = dynamoClientFor('http://127.0.0.1:4567');
 */
export function dynamoClientFor(endpoint: string): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'dummy', secretAccessKey: 'dummy' },
    maxAttempts: 1,
  });
}

/**
 * Starts dynalite in memory on 127.0.0.1, on a free port.
 *
 * @example
 * const server = await startDynalite();
 * await createTable(server.client, 'state', STATE_TABLE);
 * await server.stop();
 */
export async function startDynalite(): Promise<DynaliteServer> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = dynamoClientFor(endpoint);
  return {
    endpoint,
    client,
    async stop() {
      client.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * Creates a table with a stack's key schema (on-demand, every index projecting all attributes, as
 * `sst.aws.Dynamo` creates them) and waits until it is ACTIVE.
 *
 * @example
 * await createTable(client, 'stepops-test-backups', BACKUPS_TABLE);
 */
export async function createTable(
  client: DynamoDBClient,
  name: string,
  shape: DynamoTableShape,
): Promise<void> {
  const definitions: AttributeDefinition[] = Object.entries(shape.fields).map(([AttributeName, type]) => ({
    AttributeName,
    AttributeType: ATTRIBUTE_TYPE[type],
  }));
  const indexes = Object.entries(shape.globalIndexes ?? {});
  await client.send(
    new CreateTableCommand({
      TableName: name,
      BillingMode: 'PAY_PER_REQUEST',
      AttributeDefinitions: definitions,
      KeySchema: keySchema(shape.primaryIndex),
      ...(indexes.length > 0
        ? {
            GlobalSecondaryIndexes: indexes.map(([IndexName, index]) => ({
              IndexName,
              KeySchema: keySchema(index),
              Projection: { ProjectionType: 'ALL' },
            })),
          }
        : {}),
    }),
  );
  for (;;) {
    const { Table: table } = await client.send(new DescribeTableCommand({ TableName: name }));
    const indexesActive = (table?.GlobalSecondaryIndexes ?? []).every((i) => i.IndexStatus === 'ACTIVE');
    if (table?.TableStatus === 'ACTIVE' && indexesActive) return;
    await sleep(5);
  }
}

/**
 * Starts one dynalite for the test file (stopped after it) and gives each caller of `table` a new
 * table with the given schema, so tests do not see each other's items.
 *
 * @example
 * const dynamo = useDynalite();
 * it('…', async () => {
 *   const { name } = await dynamo.table(STATE_TABLE);
 *   const store = new DynamoLeaseStore(name, { client: dynamo.client() });
 * });
 */
export function useDynalite(): {
  client(): DynamoDBClient;
  endpoint(): string;
  table(shape: DynamoTableShape): Promise<{ name: string; ttl?: string }>;
} {
  let server: DynaliteServer | undefined;
  let tables = 0;
  const running = (): DynaliteServer => {
    if (!server) throw new Error('dynalite is not running: call useDynalite() at the top of the test file');
    return server;
  };
  beforeAll(async () => {
    server = await startDynalite();
  });
  afterAll(async () => {
    await server?.stop();
    server = undefined;
  });
  return {
    client: () => running().client,
    endpoint: () => running().endpoint,
    async table(shape) {
      tables += 1;
      const name = `stepops-test-${tables}`;
      await createTable(running().client, name, shape);
      return { name, ...(shape.ttl ? { ttl: shape.ttl } : {}) };
    },
  };
}
