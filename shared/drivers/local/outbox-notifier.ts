/**
 * Local notifier: the outbox file (one JSON line per notification) and a line for the terminal.
 */
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Notification, Notifier } from '../ports.ts';
import { stepopsHome } from './home.ts';

export interface OutboxNotifierOptions {
  /** The state directory; {@link stepopsHome} (read at each call) when omitted. */
  home?: () => string;
  /** Where the human line goes; stderr by default. `null` writes none. */
  stream?: Pick<NodeJS.WritableStream, 'write'> | null;
}

const ICONS: Record<Notification['outcome'], string> = {
  succeeded: '✔',
  failed: '✖',
  'rolled-back': '↩',
  'rollback-failed': '✖',
  'awaiting-approval': '?',
  skipped: '»',
};

/**
 * The one-line form of a notification, for a terminal.
 *
 * @example
 * humanLine(n) // '[stepops] ↩ deploy demo rolled-back: deploy of v3 failed the health gate and was rolled back'
 */
export function humanLine(notification: Notification): string {
  const where = notification.failedState ? ` (at ${notification.failedState})` : '';
  return `[stepops] ${ICONS[notification.outcome]} ${notification.workflow} ${notification.target} ${notification.outcome}${where}: ${notification.summary.replace(/\s+/g, ' ')}`;
}

/**
 * Path of the outbox file: `<stepopsHome()>/outbox.jsonl`.
 *
 * @example
 * const alerts = (await readFile(outboxPath(), 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line));
 */
export function outboxPath(home: string = stepopsHome()): string {
  return path.join(home, 'outbox.jsonl');
}

/**
 * The notifications in the outbox under `home`, oldest first; none when nothing was published
 * yet (no file). Any other failure to read is thrown, never taken for "no alerts".
 *
 * @example
 * const alerts = (await readOutbox()).filter((n) => n.workflow === 'health');
 */
export async function readOutbox(home: string = stepopsHome()): Promise<Notification[]> {
  let text: string;
  try {
    text = await readFile(outboxPath(home), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Notification);
}

/**
 * Appends each notification as one JSON line to `<stepopsHome()>/outbox.jsonl` and writes a short
 * line to the terminal.
 *
 * @example
 * await new OutboxNotifier().publish({ target: 'demo', workflow: 'deploy', outcome: 'succeeded', runId: 'r1', summary: 'deployed v2', at: new Date().toISOString() });
 */
export class OutboxNotifier implements Notifier {
  readonly #home: () => string;
  readonly #stream: Pick<NodeJS.WritableStream, 'write'> | null;

  constructor(options: OutboxNotifierOptions = {}) {
    this.#home = options.home ?? stepopsHome;
    this.#stream = options.stream === undefined ? process.stderr : options.stream;
  }

  async publish(notification: Notification): Promise<void> {
    const home = this.#home();
    await mkdir(home, { recursive: true });
    await appendFile(outboxPath(home), `${JSON.stringify(notification)}\n`);
    this.#stream?.write(`${humanLine(notification)}\n`);
  }
}
