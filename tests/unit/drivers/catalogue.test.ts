import { DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, describe, expect, it } from 'vitest';
import { DynamoBackupCatalogue } from '../../../shared/drivers/aws/dynamo-backup-catalogue.ts';
import { backupCatalogueFor } from '../../../shared/drivers/catalogue.ts';
import { FileBackupCatalogue } from '../../../shared/drivers/local/file-backup-catalogue.ts';

const dynamo = mockClient(DynamoDBClient);

afterAll(() => {
  dynamo.restore();
});

describe('backupCatalogueFor', () => {
  it('reads a named table in the region it is given, not the process region', async () => {
    // Prepare
    dynamo.on(QueryCommand).resolves({ Items: [] });

    // Act
    const catalogue = backupCatalogueFor({ table: 'stepops-prod-backups', region: 'us-east-1' }, {});
    await catalogue.list('shop');

    // Assess
    expect(catalogue).toBeInstanceOf(DynamoBackupCatalogue);
    const call = dynamo.commandCalls(QueryCommand)[0]!;
    expect(call.args[0].input.TableName).toBe('stepops-prod-backups');
    expect(await (call.thisValue as DynamoDBClient).config.region()).toBe('us-east-1');
  });

  it('is the file catalogue when no table is named', () => {
    expect(backupCatalogueFor({}, {})).toBeInstanceOf(FileBackupCatalogue);
  });
});
