/**
 * The project's one push-to-pull bridge: a producer pushes values synchronously (never blocks, never throws), one
 * consumer reads them with `for await` or `next()`. Bounded on request (with a declared overflow behaviour),
 * optionally conflated by key (only the latest value of a key waits), ended by the producer (`close`, `error`),
 * the consumer (`return`, i.e. `break` in `for await`) or an `AbortSignal`.
 *
 * Use {@link subscriptionIterable} to turn a listener API (`subscribe(fn) → unsubscribe`) into an async iterator.
 */

/** What `push` does when `limit` values are waiting. */
export type PushOverflow = 'drop-oldest' | 'drop-newest' | 'error';

export interface PushIterableOptions<T> {
  /** Most values waiting to be read (≥ 1; default unbounded). */
  readonly limit?: number;
  /**
   * When `limit` values wait: drop the oldest waiting value (default), drop the pushed one, or end the iterable
   * with a {@link PushOverflowError} (the consumer's next read rejects: a slow consumer is disconnected).
   */
  readonly overflow?: PushOverflow;
  /**
   * Conflation: a pushed value whose key equals a waiting value's key replaces it in its place in the queue (so
   * only the latest value of a key waits, and keys are served oldest first). `undefined` = never conflated.
   */
  readonly key?: (value: T) => string | undefined;
  /** With `key`: combines the waiting value with the pushed one instead of replacing it (e.g. merging book deltas). */
  readonly merge?: (waiting: T, pushed: T) => T;
  /** Called exactly once when the iterable ends, whatever ended it (e.g. to unsubscribe from the producer). */
  readonly onEnd?: () => void;
  /** Aborting it ends the iterable like {@link PushIterable.close}. */
  readonly signal?: AbortSignal;
}

/** The consumer fell `limit` values behind with `overflow: 'error'`. */
export class PushOverflowError extends Error {
  constructor(readonly limit: number) {
    super(`consumer fell ${limit} values behind`);
    this.name = 'PushOverflowError';
  }
}

interface Slot<T> {
  value: T;
  readonly key: string | undefined;
}

interface Waiter<T> {
  resolve(r: IteratorResult<T>): void;
  reject(e: unknown): void;
}

const DONE: IteratorResult<never> = Object.freeze({ value: undefined, done: true }) as IteratorResult<never>;

/** A push-based async iterable (see the module doc). One consumer. */
export class PushIterable<T> implements AsyncIterableIterator<T> {
  /** Values dropped by overflow. */
  dropped = 0;
  /** Values that replaced (or were merged into) a waiting value of the same key. */
  conflated = 0;
  private readonly limit: number;
  private readonly overflow: PushOverflow;
  private readonly keyOf: ((value: T) => string | undefined) | undefined;
  private readonly merge: ((waiting: T, pushed: T) => T) | undefined;
  private onEnd: (() => void) | undefined;
  private items: (Slot<T> | undefined)[] = [];
  private head = 0;
  /** Key → index (in `items`) of the waiting value with that key. */
  private readonly latest = new Map<string, number>();
  private waiters: Waiter<T>[] = [];
  /** undefined: open; null: closed (waiting values still readable); Error: failed (reads reject). */
  private end: Error | null | undefined;
  private readonly signal: AbortSignal | undefined;
  private readonly onAbort = (): void => this.close();

  constructor(opts: PushIterableOptions<T> = {}) {
    this.limit = Math.max(1, opts.limit ?? Infinity);
    this.overflow = opts.overflow ?? 'drop-oldest';
    this.keyOf = opts.key;
    this.merge = opts.merge;
    this.onEnd = opts.onEnd;
    this.signal = opts.signal;
    if (this.signal?.aborted) this.close();
    else this.signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Values waiting to be read. */
  get pending(): number {
    return this.items.length - this.head;
  }

  /** True once ended (closed, failed or returned): `push` is ignored from then on. */
  get closed(): boolean {
    return this.end !== undefined;
  }

  /** Offers a value. Returns false when it was not queued (ended, or dropped by `overflow: 'drop-newest' | 'error'`). */
  push(value: T): boolean {
    if (this.end !== undefined) return false;
    const w = this.waiters.shift();
    if (w !== undefined) {
      w.resolve({ value, done: false });
      return true;
    }
    const key = this.keyOf?.(value);
    if (key !== undefined) {
      const at = this.latest.get(key);
      if (at !== undefined) {
        const slot = this.items[at]!;
        slot.value = this.merge ? this.merge(slot.value, value) : value;
        this.conflated++;
        return true;
      }
    }
    if (this.pending >= this.limit) {
      if (this.overflow === 'drop-newest') {
        this.dropped++;
        return false;
      }
      if (this.overflow === 'error') {
        this.dropped++;
        this.error(new PushOverflowError(this.limit));
        return false;
      }
      this.shift();
      this.dropped++;
    }
    if (key !== undefined) this.latest.set(key, this.items.length);
    this.items.push({ value, key });
    return true;
  }

  /** Producer side: no more values; the consumer still reads the waiting ones, then the iterator ends. Idempotent. */
  close(): void {
    if (this.end !== undefined) return;
    this.end = null;
    for (const w of this.waiters.splice(0)) w.resolve(DONE);
    this.finish();
  }

  /** Producer side: ends with an error; waiting values are discarded and every later read rejects with `e`. */
  error(e: Error): void {
    if (this.end !== undefined) return;
    this.end = e;
    this.clear();
    for (const w of this.waiters.splice(0)) w.reject(e);
    this.finish();
  }

  /** The next value; `done` once closed and drained; rejects after {@link error}. */
  next(): Promise<IteratorResult<T>> {
    if (this.pending > 0) return Promise.resolve({ value: this.shift(), done: false });
    if (this.end instanceof Error) return Promise.reject(this.end);
    if (this.end === null) return Promise.resolve(DONE);
    return new Promise<IteratorResult<T>>((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** Consumer side (`break` in `for await`): stops, discards waiting values. */
  return(): Promise<IteratorResult<T>> {
    this.close();
    this.clear();
    return Promise.resolve(DONE);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  private shift(): T {
    const slot = this.items[this.head]!;
    this.items[this.head] = undefined;
    if (slot.key !== undefined && this.latest.get(slot.key) === this.head) this.latest.delete(slot.key);
    this.head++;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      for (const [k, i] of this.latest) this.latest.set(k, i - this.head);
      this.head = 0;
    }
    return slot.value;
  }

  private clear(): void {
    this.items = [];
    this.head = 0;
    this.latest.clear();
  }

  private finish(): void {
    this.signal?.removeEventListener('abort', this.onAbort);
    const f = this.onEnd;
    this.onEnd = undefined;
    f?.();
  }
}

/**
 * A listener API as an async iterator: subscribes now, unsubscribes when the iterator ends (consumer `break`,
 * `close()`, `error()`, abort). Options as {@link PushIterable} (`onEnd` runs after the unsubscribe).
 */
export function subscriptionIterable<T>(
  subscribe: (listener: (value: T) => void) => () => void,
  opts: PushIterableOptions<T> = {},
): PushIterable<T> {
  let off: (() => void) | undefined;
  let ended = false;
  const it = new PushIterable<T>({
    ...opts,
    onEnd: () => {
      ended = true;
      off?.();
      off = undefined;
      opts.onEnd?.();
    },
  });
  if (ended) return it;
  off = subscribe((v) => it.push(v));
  if (ended) {
    // Ended while subscribing (a listener that closed it synchronously).
    off();
    off = undefined;
  }
  return it;
}
