/**
 * A FIFO queue with a capacity in items and in bytes, so a fast source waits
 * for a slow sink and memory stays bounded whatever the size of the topic or
 * of its messages.
 *
 * @example
 * const queue = new BoundedQueue<Chunk>(4, { maxBytes: 32 << 20, sizeOf: (c) => c.bytes });
 * await queue.push(chunk, () => heartbeat()); // waits while full
 * const next = await queue.take();            // undefined once closed and empty
 */

export interface ByteBound<T> {
  /** Most bytes queued at once; one item is always admitted, however large. */
  maxBytes: number;
  sizeOf: (item: T) => number;
}

export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private closed = false;
  private queuedBytes = 0;
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly capacity: number,
    private readonly byteBound?: ByteBound<T>,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** Bytes queued, by the byte bound's measure (0 without one). */
  get bytes(): number {
    return this.queuedBytes;
  }

  /**
   * Adds an item, waiting while the queue is full and calling `whileWaiting`
   * about every `waitTickMs` (the consumer heartbeats there). Returns false,
   * without adding, once the queue is closed.
   */
  async push(item: T, whileWaiting?: () => Promise<void>, waitTickMs = 1000): Promise<boolean> {
    const size = this.byteBound?.sizeOf(item) ?? 0;
    while (!this.closed && this.isFullFor(size)) {
      await this.waitForChange(waitTickMs);
      if (!this.closed && this.isFullFor(size)) await whileWaiting?.();
    }
    if (this.closed) return false;
    this.items.push(item);
    this.queuedBytes += size;
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
    this.queuedBytes += this.byteBound?.sizeOf(item) ?? 0;
    this.notify();
    return true;
  }

  /** Next item; waits while empty; undefined once closed and drained. */
  async take(): Promise<T | undefined> {
    while (this.items.length === 0) {
      if (this.closed) return undefined;
      await this.waitForChange();
    }
    const item = this.items.shift()!;
    this.queuedBytes -= this.byteBound?.sizeOf(item) ?? 0;
    this.notify();
    return item;
  }

  /** Refuses further pushes; items already queued can still be taken. */
  close(): void {
    this.closed = true;
    this.notify();
  }

  private isFullFor(size: number): boolean {
    if (this.items.length >= this.capacity) return true;
    return this.byteBound !== undefined && this.items.length > 0 && this.queuedBytes + size > this.byteBound.maxBytes;
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
