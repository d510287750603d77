/**
 * DynamoDB for the safety tests: one dynalite server (in memory, on a port the system picks) per
 * test file, and a fresh table with the state table's key (hash key `pk`, a string) per call, so
 * that the conditions the stores write are evaluated by a server and not by the test.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll } from 'vitest';

/**
 * Starts dynalite before the file's tests and stops it after them.
 *
 * @example
 * const dynamo = useStateTables();
 * const store = new DynamoLeaseStore(await dynamo.table(), { client: dynamo.client() });
 */
export function useStateTables(): { client(): DynamoDBClient; table(): Promise<string> } {
  let server: ReturnType<typeof dynalite> | undefined;
  let client: DynamoDBClient | undefined;
  let tables = 0;
  beforeAll(async () => {
    server = dynalite({ createTableMs: 0 });
    const started = server;
    await new Promise<void>((resolve) => started.listen(0, '127.0.0.1', () => resolve()));
    client = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${(started.address() as AddressInfo).port}`,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 1,
    });
  });
  afterAll(async () => {
    client?.destroy();
    const stopping = server;
    if (!stopping) return;
    stopping.closeAllConnections();
    await new Promise<void>((resolve) => stopping.close(() => resolve()));
  });
  const running = () => {
    if (!client) throw new Error('dynalite is not running');
    return client;
  };
  return {
    client: running,
    async table() {
      tables += 1;
      const name = `state-${tables}`;
      await running().send(
        new CreateTableCommand({
          TableName: name,
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
        }),
      );
      // dynalite answers CreateTable with CREATING and turns ACTIVE on a timer: wait for it, as
      // one waits for a new table on AWS (a busy machine can delay that timer).
      for (;;) {
        const { Table: table } = await running().send(new DescribeTableCommand({ TableName: name }));
        if (table?.TableStatus === 'ACTIVE') return name;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    },
  };
}
