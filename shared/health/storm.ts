/**
 * Alerts of many targets grouped into one message: each health run that has something to alert
 * adds its notification to a shared batch (a record of the health state store, written with the
 * same version check); the run that opened the batch waits a short window, claims the batch and
 * publishes it — one notification as it is, several as one message listing them (50 targets down
 * together make one message). A batch whose opener died is taken over by the next run.
 */
import { createHash } from 'node:crypto';
import type { HealthStateStore, Notification, Notifier } from '../drivers/ports.ts';
import { stormNotification } from './alerts.ts';

/** The store key of the shared batch of one destination (no target name has a "~"). */
export function alertBatchKey(destination: string): string {
  return `alerts~${createHash('sha256').update(destination).digest('hex').slice(0, 16)}`;
}
/** Attempts to write the batch when other runs keep writing it (each after a short random pause). */
const WRITE_ATTEMPTS = 200;

interface AlertBatch {
  /** Epoch milliseconds the batch was opened. */
  openedAt: number;
  opener: string;
  claimed: boolean;
  items: Notification[];
}

export interface GroupedAlertOptions {
  store: HealthStateStore;
  notifier: Notifier;
  /** This run's id (the opener's name, and the storm message's run id). */
  runId: string;
  /** Where the notifier delivers (its topic and webhook): only alerts for one destination are grouped. */
  destination: string;
  /** Milliseconds the opener waits for other runs' alerts. */
  windowMs: number;
  now: () => number;
  sleep: (ms: number) => Promise<void>;
}

function parse(body: string | undefined): AlertBatch | undefined {
  if (!body) return undefined;
  try {
    const batch = JSON.parse(body) as AlertBatch;
    return Array.isArray(batch.items) && typeof batch.openedAt === 'number' ? batch : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Publishes a run's notification grouped with those of the other runs alerting in the same
 * window; resolves once it is published (by this run) or handed to the batch's opener.
 *
 * @returns `opened` when this run published the batch, with how many notifications it held
 * @example
 * await publishGrouped(notification, { store, notifier, runId, windowMs: 10_000, now: Date.now, sleep });
 */
export async function publishGrouped(
  notification: Notification,
  options: GroupedAlertOptions,
): Promise<{ opened: boolean; published: number }> {
  const { store } = options;
  const key = alertBatchKey(options.destination);
  const pause = () => options.sleep(5 + Math.floor(Math.random() * 20));
  let opened = false;
  for (let attempt = 0; ; attempt += 1) {
    if (attempt >= WRITE_ATTEMPTS) throw new Error('the alert batch kept changing under overlapping writes');
    const record = await store.read(key);
    const batch = parse(record?.body);
    const now = options.now();
    // A batch open too long was left by a run that died: take it over with its alerts.
    const open = batch && !batch.claimed && now - batch.openedAt <= 3 * options.windowMs;
    const next: AlertBatch = open
      ? { ...batch, items: [...batch.items, notification] }
      : {
          openedAt: now,
          opener: options.runId,
          claimed: false,
          items: [...(batch && !batch.claimed ? batch.items : []), notification],
        };
    if (await store.write(key, JSON.stringify(next), record?.version ?? 0)) {
      opened = !open;
      break;
    }
    await pause();
  }
  if (!opened) return { opened: false, published: 0 };
  await options.sleep(options.windowMs);
  for (let attempt = 0; attempt < WRITE_ATTEMPTS; attempt += 1) {
    const record = await store.read(key);
    const batch = parse(record?.body);
    if (!record || !batch || batch.claimed || batch.opener !== options.runId) {
      // Taken over (this run overran its window): the new opener publishes.
      return { opened: true, published: 0 };
    }
    if (await store.write(key, JSON.stringify({ ...batch, claimed: true }), record.version)) {
      const items = batch.items;
      await options.notifier.publish(
        items.length === 1
          ? items[0]!
          : stormNotification(
              items.map((n) => ({ target: n.target, summary: n.summary, outcome: n.outcome })),
              options.runId,
              new Date(options.now()),
            ),
      );
      return { opened: true, published: items.length };
    }
    await pause();
  }
  throw new Error('the alert batch kept changing under overlapping writes');
}
