/**
 * Keeps commits in offset order while several chunks are written at once.
 * Chunks of a partition are tracked in the order they were consumed; a
 * finished chunk is released only when every earlier chunk of its partition
 * has finished too, so the committed offset never jumps over unwritten data.
 *
 * @example
 * const order = new CommitOrder<string>();
 * const a = order.track("t", 0);
 * const b = order.track("t", 0);
 * order.complete(b, "second"); // [] — a is still being written
 * order.complete(a, "first");  // ["first", "second"]
 */

export interface CommitTicket {
  readonly key: string;
}

interface Slot<T> {
  ticket: CommitTicket;
  done: boolean;
  value?: T;
}

export class CommitOrder<T> {
  private readonly partitions = new Map<string, Slot<T>[]>();

  /** Registers the next chunk of a partition, in consumption order. */
  track(topic: string, partition: number): CommitTicket {
    const ticket = { key: `${topic}\u0000${partition}` };
    const slots = this.partitions.get(ticket.key) ?? [];
    slots.push({ ticket, done: false });
    this.partitions.set(ticket.key, slots);
    return ticket;
  }

  /** Chunks of a partition tracked and not yet released. */
  outstanding(topic: string, partition: number): number {
    return this.partitions.get(`${topic}\u0000${partition}`)?.length ?? 0;
  }

  /** Marks a chunk finished; returns the values now releasable, oldest first. */
  complete(ticket: CommitTicket, value: T): T[] {
    const slots = this.partitions.get(ticket.key) ?? [];
    const slot = slots.find((s) => s.ticket === ticket);
    if (!slot) throw new Error("unknown commit ticket");
    slot.done = true;
    slot.value = value;
    const released: T[] = [];
    while (slots[0]?.done) released.push(slots.shift()!.value as T);
    return released;
  }
}
