/**
 * Runs `work` over `items`, at most `limit` at a time, the results in the items' order. For
 * reads that wait on AWS more than they compute: a few in flight hide the latency, and the
 * client's rate limiter still paces what is sent.
 */
export async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const runners = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  });
  await Promise.all(runners);
  return results;
}
