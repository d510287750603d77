import { describe, expect, it } from 'vitest';
import { LazyCommandRunner, LazyNotifier, loadOnce } from '../../../shared/drivers/lazy.ts';
import type { CommandRunner, Notification } from '../../../shared/drivers/ports.ts';

describe('loadOnce', () => {
  it('loads on the first call only and hands every caller the same result', async () => {
    let loads = 0;
    const get = loadOnce(async () => {
      loads += 1;
      return { id: loads };
    });
    expect(loads).toBe(0);
    const [a, b] = await Promise.all([get(), get()]);
    expect(await get()).toBe(a);
    expect(b).toBe(a);
    expect(loads).toBe(1);
  });

  it('forgets a failed load, so that the next call tries again', async () => {
    let loads = 0;
    const get = loadOnce(async () => {
      loads += 1;
      if (loads === 1) throw new Error('module failed to load');
      return 'loaded';
    });
    await expect(get()).rejects.toThrow('module failed to load');
    expect(await get()).toBe('loaded');
    expect(loads).toBe(2);
  });
});

describe('lazy adapters', () => {
  it('a lazy notifier makes its notifier on the first notification and reuses it', async () => {
    const published: string[] = [];
    let made = 0;
    const notifier = new LazyNotifier(async () => {
      made += 1;
      return { publish: async (n: Notification) => void published.push(n.summary) };
    });
    expect(made).toBe(0);
    const notification = { summary: 'deploy demo succeeded' } as Notification;
    await notifier.publish(notification);
    await notifier.publish(notification);
    expect(made).toBe(1);
    expect(published).toEqual(['deploy demo succeeded', 'deploy demo succeeded']);
  });

  it('a lazy notifier rejects with the error of the notifier it made', async () => {
    const notifier = new LazyNotifier(async () => ({
      publish: async () => {
        throw new Error('cannot read the Slack webhook parameter /stepops/slack: AccessDenied');
      },
    }));
    await expect(notifier.publish({ summary: 's' } as Notification)).rejects.toThrow(/AccessDenied/);
  });

  it('a lazy command runner tells its status pace before loading and passes calls through', async () => {
    let made = 0;
    const inner: CommandRunner = {
      send: async () => ({ commandId: 'c-1', hosts: [] }) as never,
      status: async () => [{ hostId: 'i-1', state: 'succeeded', outputTail: 'ok' }],
    };
    const runner = new LazyCommandRunner(async () => {
      made += 1;
      return inner;
    }, 2_000);
    expect(runner.statusPaceMs).toBe(2_000);
    expect(made).toBe(0);
    const handle = await runner.send({ hosts: [], script: 'true', timeoutSeconds: 5, comment: 'c' } as never);
    expect(await runner.status(handle)).toEqual([{ hostId: 'i-1', state: 'succeeded', outputTail: 'ok' }]);
    expect(made).toBe(1);
    expect(new LazyCommandRunner(async () => inner).statusPaceMs).toBeUndefined();
  });
});
