/**
 * Promise.all that waits for every promise before failing, so that when
 * one of several readers fails none is left running behind the caller's
 * back (and its clean-up, like deleting a consumer group, still happens).
 *
 * @example
 * const [read, landed] = await settleAll([readTopicToEnd(...), fetchLandedOffsets(...)] as const);
 */
export async function settleAll<T extends readonly unknown[]>(
  work: T,
): Promise<{ -readonly [K in keyof T]: Awaited<T[K]> }> {
  const results = await Promise.allSettled(work);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as { -readonly [K in keyof T]: Awaited<T[K]> };
}
