/**
 * A binary min-heap: the mailboxes waiting for a retry, earliest first, in O(log n) each way.
 */
export class MinHeap<T> {
  private readonly items: T[] = [];

  constructor(private readonly before: (a: T, b: T) => number) {}

  get size(): number {
    return this.items.length;
  }

  peek(): T | undefined {
    return this.items[0];
  }

  push(item: T): void {
    const items = this.items;
    items.push(item);
    let i = items.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.swapIfBefore(i, parent)) break;
      i = parent;
    }
  }

  pop(): T | undefined {
    const items = this.items;
    const top = items[0];
    const last = items.pop();
    if (items.length === 0 || last === undefined) return top;
    items[0] = last;
    for (let i = 0; ; ) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < items.length && this.order(left, smallest) < 0) smallest = left;
      if (right < items.length && this.order(right, smallest) < 0) smallest = right;
      if (smallest === i) break;
      this.swap(i, smallest);
      i = smallest;
    }
    return top;
  }

  /** Swaps child `i` with `parent` when it comes first; says whether it did. */
  private swapIfBefore(i: number, parent: number): boolean {
    if (this.order(i, parent) >= 0) return false;
    this.swap(i, parent);
    return true;
  }

  private order(i: number, j: number): number {
    const a = this.items[i];
    const b = this.items[j];
    return a === undefined || b === undefined ? 0 : this.before(a, b);
  }

  private swap(i: number, j: number): void {
    const a = this.items[i];
    const b = this.items[j];
    if (a === undefined || b === undefined) return;
    this.items[i] = b;
    this.items[j] = a;
  }
}
