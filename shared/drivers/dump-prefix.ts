/**
 * Where the dumps of a backup job live, as the backup that writes them and the dump locator that
 * finds the newest one both read it. Pure.
 */

/**
 * Where the dumps of a job live: `s3://<bucket>/<prefix>/<target>/<job>/` (or under `dumpRoot`).
 *
 * @example
 * dumpPrefix('shop', { name: 'mongodb', bucket: 'b', prefix: 'dumps' }) // 's3://b/dumps/shop/mongodb/'
 */
export function dumpPrefix(
  target: string,
  job: { name: string; bucket: string; prefix: string },
  dumpRoot?: string,
): string {
  if (dumpRoot !== undefined) return `${dumpRoot.replace(/\/+$/, '')}/${target}/${job.name}/`;
  const prefix = job.prefix.replace(/^\/+|\/+$/g, '');
  return `s3://${job.bucket}/${prefix ? `${prefix}/` : ''}${target}/${job.name}/`;
}
