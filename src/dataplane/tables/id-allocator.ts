/**
 * Integer ids for table entries (next hops, ILM entries, vifs, VRFs). A released id is
 * reused only after a grace period, so a worker that read the id just before the release
 * finishes its burst before the slot holds something else.
 */
export class IdAllocator {
  private next: number;
  private readonly released: { id: number; at: number }[] = [];

  constructor(first: number, readonly capacity: number, private readonly graceMs = 1000) {
    this.next = first;
  }

  alloc(now = Date.now()): number {
    const r = this.released[0];
    if (r && now - r.at >= this.graceMs) {
      this.released.shift();
      return r.id;
    }
    if (this.next < this.capacity) return this.next++;
    if (r) {
      this.released.shift();
      return r.id;
    }
    return -1;
  }

  release(id: number, now = Date.now()): void {
    this.released.push({ id, at: now });
  }
}
