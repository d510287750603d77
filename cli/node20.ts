/**
 * What the package's code and dependencies use of Node 22 that Node 20 lacks, defined when missing
 * (the package runs on Node 20 or later): `Promise.withResolvers` (aws-local-stepfunctions' Task
 * timeouts) and `Map.groupBy` (the AWS copy service). Imported first by the `stepops` command.
 */
const promise = Promise as unknown as { withResolvers?: unknown };
promise.withResolvers ??= function withResolvers<T>() {
  let resolve!: (value: T | PromiseLike<T>) => void;
  let reject!: (reason?: unknown) => void;
  const created = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise: created, resolve, reject };
};

const map = Map as unknown as { groupBy?: unknown };
map.groupBy ??= function groupBy<K, T>(items: Iterable<T>, key: (item: T, index: number) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  let index = 0;
  for (const item of items) {
    const k = key(item, index++);
    const group = groups.get(k);
    if (group) group.push(item);
    else groups.set(k, [item]);
  }
  return groups;
};

export {};
