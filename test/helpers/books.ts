/**
 * Book events for tests, built the way the sync stage builds them (`src/pipeline/sync.ts`): a test keeps its own
 * `L2Book` per instrument (the read model a consolidator or server reads) and publishes plain `book_snapshot` /
 * `book_delta` / `book_reset` domain events for it. `BookMirror` goes the other way: it rebuilds books from the bus
 * events alone, as any remote consumer would.
 */
import type { Bus } from '../../src/bus/bus.ts';
import type { BookView } from '../../src/core/book-view.ts';
import type { BookDeltaMsg, BookResetMsg, BookSnapshotMsg, Level } from '../../src/core/events.ts';
import type { Instrument } from '../../src/core/instruments.ts';
import { L2Book } from '../../src/pipeline/book.ts';

/** The `book_snapshot` event of a book's current state: every level best first, `[price, size]`. */
export function snapshotEvent(instrument: Instrument, book: BookView): BookSnapshotMsg {
  return {
    kind: 'book_snapshot',
    instrument,
    epoch: book.epoch,
    seq: book.seq ?? null,
    ts: book.ts,
    recvTs: book.recvTs,
    bids: book.bids.top(),
    asks: book.asks.top(),
  };
}

/** Publishes a book's current state as a `book_snapshot` (the caller has loaded it, set `valid` and its epoch). */
export function publishBook(bus: Bus, instrument: Instrument, book: BookView): BookSnapshotMsg {
  const ev = snapshotEvent(instrument, book);
  bus.publish('book_snapshot', ev);
  return ev;
}

/** Publishes the changed levels of a delta already applied to `book` as a `book_delta`. */
export function publishDelta(bus: Bus, instrument: Instrument, book: BookView, bids: readonly Level[], asks: readonly Level[]): BookDeltaMsg {
  const ev: BookDeltaMsg = { kind: 'book_delta', instrument, epoch: book.epoch, seq: book.seq ?? null, ts: book.ts, recvTs: book.recvTs, bids, asks };
  bus.publish('book_delta', ev);
  return ev;
}

/** Publishes a `book_reset` for the book's current epoch (the caller has reset the book). */
export function publishReset(bus: Bus, instrument: Instrument, book: BookView, reason: string, ts = Date.now()): BookResetMsg {
  const ev: BookResetMsg = { kind: 'book_reset', instrument, epoch: book.epoch, reason, ts };
  bus.publish('book_reset', ev);
  return ev;
}

/** One instrument's test-owned book, mutated like the sync stage does and published on the bus. */
export class Feed {
  constructor(
    private readonly bus: Bus,
    readonly instrument: Instrument,
    readonly book: L2Book,
    /** Venue time = receive time − this (ms). */
    private readonly lagMs = 5,
  ) {}

  /** Loads a snapshot (a rebuild: epoch + 1), marks the book valid and publishes it. */
  snapshot(bids: Level[], asks: Level[], recvTs = Date.now(), ts = recvTs - this.lagMs): this {
    this.book.loadSnapshot(bids, asks);
    this.book.valid = true;
    this.book.epoch++;
    this.book.ts = ts;
    this.book.recvTs = recvTs;
    publishBook(this.bus, this.instrument, this.book);
    return this;
  }

  /** Applies absolute levels and publishes them as a delta. */
  delta(bids: Level[], asks: Level[], recvTs = Date.now(), ts = recvTs - this.lagMs): this {
    this.book.applyLevels(bids, asks);
    this.book.ts = ts;
    this.book.recvTs = recvTs;
    publishDelta(this.bus, this.instrument, this.book, bids, asks);
    return this;
  }

  /** Invalidates the book and publishes a `book_reset`. */
  reset(reason = 'gap', ts = Date.now()): void {
    this.book.reset();
    publishReset(this.bus, this.instrument, this.book, reason, ts);
  }
}

const bookKey = (venue: string, key: string): string => `${venue}|${key}`;

/** Test-owned books, one per (venue, instrument key): the `book` lookup handed to a consolidator. */
export class TestBooks {
  private readonly books = new Map<string, L2Book>();

  constructor(
    private readonly bus: Bus,
    private readonly lagMs = 5,
  ) {}

  /** The read model: the book of one venue instrument, or undefined. */
  readonly lookup = (venue: string, key: string): L2Book | undefined => this.books.get(bookKey(venue, key));

  /** The book of an instrument (created empty on first use). */
  book(instrument: Instrument): L2Book {
    const k = bookKey(instrument.venue, instrument.key);
    let b = this.books.get(k);
    if (b === undefined) {
      b = new L2Book(instrument.venue, instrument.key, instrument.symbol, instrument.venueSymbol);
      this.books.set(k, b);
    }
    return b;
  }

  /** A feed over the instrument's (single) book. */
  feed(instrument: Instrument): Feed {
    return new Feed(this.bus, instrument, this.book(instrument), this.lagMs);
  }
}

/**
 * Rebuilds books from the bus book events alone: a snapshot replaces the book (and sets its epoch), a delta is applied
 * on top (it must belong to the book's current epoch: a delta for an unknown or reset book, or of another epoch, is
 * recorded in `violations`), a reset invalidates the book. Subscribe it before any consumer that reads its books.
 */
export class BookMirror {
  private readonly books = new Map<string, L2Book>();
  /** Protocol violations seen (deltas that do not continue the current snapshot). */
  readonly violations: string[] = [];
  private readonly offs: (() => void)[];

  constructor(bus: Bus) {
    this.offs = [bus.on('book_snapshot', (ev) => this.apply(ev)), bus.on('book_delta', (ev) => this.apply(ev)), bus.on('book_reset', (ev) => this.apply(ev))];
  }

  /** The read model over the rebuilt books. */
  readonly lookup = (venue: string, key: string): L2Book | undefined => this.books.get(bookKey(venue, key));

  /** Applies one book event; returns the book it changed. */
  apply(ev: BookSnapshotMsg | BookDeltaMsg | BookResetMsg): L2Book | undefined {
    const i = ev.instrument;
    const k = bookKey(i.venue, i.key);
    let b = this.books.get(k);
    if (ev.kind === 'book_snapshot') {
      if (b === undefined) {
        b = new L2Book(i.venue, i.key, i.symbol, i.venueSymbol);
        this.books.set(k, b);
      }
      b.loadSnapshot(ev.bids, ev.asks);
      b.valid = true;
    } else if (ev.kind === 'book_delta') {
      if (b === undefined || !b.valid || b.epoch !== ev.epoch) {
        this.violations.push(`${k}: delta of epoch ${ev.epoch} on ${b === undefined ? 'no book' : `${b.valid ? 'valid' : 'reset'} book of epoch ${b.epoch}`}`);
        return b;
      }
      b.applyLevels(ev.bids, ev.asks);
    } else {
      if (b === undefined) return undefined;
      b.reset();
      return b;
    }
    b.epoch = ev.epoch;
    b.seq = ev.seq ?? undefined;
    b.ts = ev.ts;
    b.recvTs = ev.recvTs;
    return b;
  }

  /** Every rebuilt book. */
  all(): L2Book[] {
    return [...this.books.values()];
  }

  close(): void {
    for (const off of this.offs) off();
  }
}
