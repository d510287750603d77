/**
 * Where the public status page is published: the stage's bucket when the stack names it
 * (`STEPOPS_STATUS_BUCKET`, with `STEPOPS_STATUS_TITLE` the stage), else the file under the local
 * stepops home. Also what the page reads besides the health states: the local outbox's health
 * alerts (a stage keeps none: its transitions come from the state items).
 */
import { S3Client } from '@aws-sdk/client-s3';
import { defaultRegion } from './aws/regions.ts';
import { S3StatusPagePublisher } from './aws/status-page-publisher.ts';
import { FileStatusPagePublisher } from './local/file-status-page.ts';
import { readOutbox } from './local/outbox-notifier.ts';
import type { Notification } from './ports.ts';

/** Stores the rendered status page somewhere people read it. */
export interface StatusPagePublisher {
  /** Stores the page; returns where it went (an `s3://` URL or a file). */
  publish(html: string): Promise<{ location: string }>;
}

/** Where the page goes, and under which title. */
export interface StatusPageSetup {
  publisher: StatusPagePublisher;
  /** `local`, or the stage's name. */
  title: string;
  /** The health alerts the page counts incidents from. */
  alerts(): Promise<Notification[]>;
}

/**
 * The status page setup of this process.
 *
 * @example
 * const { publisher, title } = statusPageSetup(); // locally: the file under .stepops/status/local/
 */
export function statusPageSetup(env: NodeJS.ProcessEnv = process.env): StatusPageSetup {
  const bucket = env.STEPOPS_STATUS_BUCKET?.trim();
  if (bucket) {
    const region = defaultRegion();
    return {
      publisher: new S3StatusPagePublisher(new S3Client(region ? { region } : {}), { bucket }),
      title: env.STEPOPS_STATUS_TITLE?.trim() || 'status',
      alerts: async () => [],
    };
  }
  return {
    publisher: new FileStatusPagePublisher('local'),
    title: 'local',
    alerts: async () => (await readOutbox()).filter((n) => n.workflow === 'health'),
  };
}
