/**
 * A FIFO queue with a capacity, so a fast source waits for a slow sink and
 * memory stays bounded whatever the size of the topic.
 *
 * @example
 * const queue = new BoundedQueue<Chunk>(4);
 * await queue.push(chunk, () => heartbeat()); // waits while full
 * const next = await queue.take();            // undefined once closed and empty
 */

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private readonly waiters = new Set<() => void>();

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length;
  }

  /**
   * Adds an item, waiting while the queue is full and calling `whileWaiting`
   * about every `waitTickMs` (the consumer heartbeats there). Returns false,
   * without adding, once the queue is closed.
   */
  async push(item: T, whileWaiting?: () => Promise<void>, waitTickMs = 1000): Promise<boolean> {
    while (!this.closed && this.items.length >= this.capacity) {
      await this.waitForChange(waitTickMs);
      if (!this.closed && this.items.length >= this.capacity) await whileWaiting?.();
    }
    if (this.closed) return false;
    this.items.push(item);
    this.notify();
    return true;
  }

  /**
   * Adds an item now, over capacity if need be, keeping its place in line;
   * for items that hold no data (a commit position). False once closed.
   */
  pushNow(item: T): boolean {
    if (this.closed) return false;
    this.items.push(item);
    this.notify();
    return true;
  }

  /** Next item; waits while empty; undefined once closed and drained. */
  async take(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) return undefined;
      await this.waitForChange();
    }
    const item = this.items.shift();
    this.notify();
    return item;
  }

  /** Refuses further pushes; items already queued can still be taken. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  private waitForChange(timeoutMs?: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        if (timer) clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = timeoutMs === undefined ? undefined : setTimeout(wake, timeoutMs);
      this.waiters.add(wake);
    });
  }

  private notify(): void {
    for (const wake of [...this.waiters]) wake();
  }
}
