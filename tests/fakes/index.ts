/**
 * The AWS fakes: EC2, ELBv2, RDS, AWS Backup, S3, SSM and Step Functions, stateful, installed on aws-sdk-client-mock at
 * the command level, each behaving as its AWS documentation says (every module cites its pages).
 * One install shares one call log, so a test can assert the order of calls across services.
 *
 * @example
 * const aws = installAwsFakes({ ec2: { invisibleReads: 2 } });
 * aws.ec2.addVolume({ id: 'vol-1', region: 'eu-west-1', size: 8, instanceId: 'i-1', device: '/dev/xvda' });
 * // … run the code under test …
 * aws.log.names(); // ['ec2:CreateSnapshots', 'ec2:DescribeSnapshots', …]
 * aws.restore();
 */
import { type BackupSwitches, type FakeBackup, fakeBackup } from './backup.ts';
import { CallLog } from './common.ts';
import { type Ec2Switches, type FakeEc2, fakeEc2 } from './ec2.ts';
import { type Elbv2Switches, type FakeElbv2, fakeElbv2 } from './elbv2.ts';
import { type FakeRds, fakeRds, type RdsSwitches } from './rds.ts';
import { type FakeS3, fakeS3 } from './s3.ts';
import { type FakeSfn, fakeSfn } from './sfn.ts';
import { type FakeSsm, fakeSsm, type ScriptRunner, type SsmSwitches } from './ssm.ts';

export * from './backup.ts';
export * from './common.ts';
export * from './ec2.ts';
export * from './elbv2.ts';
export * from './rds.ts';
export * from './s3.ts';
export * from './sfn.ts';
export * from './ssm.ts';

export interface AwsFakes {
  log: CallLog;
  ec2: FakeEc2;
  elbv2: FakeElbv2;
  rds: FakeRds;
  backup: FakeBackup;
  s3: FakeS3;
  ssm: FakeSsm;
  sfn: FakeSfn;
  /** Removes every mock (the SDK clients reach AWS again). */
  restore(): void;
}

/** Switches of each fake at install. */
export interface AwsFakesOptions {
  ec2?: Partial<Ec2Switches>;
  elbv2?: Partial<Elbv2Switches>;
  rds?: Partial<RdsSwitches>;
  backup?: Partial<BackupSwitches>;
  ssm?: Partial<SsmSwitches> & { run?: ScriptRunner };
}

/**
 * Installs every fake (replacing any mock of the same clients).
 *
 * @example
 * const aws = installAwsFakes();
 */
export function installAwsFakes(options: AwsFakesOptions = {}): AwsFakes {
  const log = new CallLog();
  const fakes = {
    ec2: fakeEc2(log, options.ec2),
    elbv2: fakeElbv2(log, options.elbv2),
    rds: fakeRds(log, options.rds),
    backup: fakeBackup(log, options.backup),
    s3: fakeS3(log),
    ssm: fakeSsm(log, options.ssm),
    sfn: fakeSfn(log),
  };
  return {
    log,
    ...fakes,
    restore() {
      for (const fake of Object.values(fakes)) fake.restore();
    },
  };
}
