/**
 * The typed in-process bus. Dispatch is synchronous (the hot path pays no queueing); consumers that do
 * I/O keep their own bounded queues (the WebSocket server conflates per client under backpressure).
 */
import type { Level, TickerEvent, TradeEvent } from '../core/events.ts';
import type { Instrument } from '../core/instruments.ts';
import type { BookView } from './book.ts';

/** A book changed. For `snapshot` the levels are the full book; for `delta` only the changed levels. */
export interface BookUpdate {
  readonly kind: 'snapshot' | 'delta';
  readonly instrument: Instrument;
  readonly book: BookView;
  readonly bids: readonly Level[];
  readonly asks: readonly Level[];
}

/** A book became invalid (gap, checksum, crossed, reconnect) and is being rebuilt; clients should drop it. */
export interface BookReset {
  readonly instrument: Instrument;
  readonly reason: string;
  /** Local time (ms). */
  readonly ts: number;
}

/** Connection lifecycle of one venue connection. */
export interface VenueStatus {
  readonly venue: string;
  readonly connId: string;
  readonly state: 'connecting' | 'open' | 'closed' | 'reconnecting';
  readonly detail?: string;
  /** Local time (ms). */
  readonly ts: number;
}

/**
 * One oracle price as decoded (Pyth Hermes `parsed[]` entry, https://docs.pyth.network/price-feeds/how-pyth-works/hermes).
 * Integers stay the strings received; the real value is `integer × 10^expo` (quote currency per unit of base).
 */
export interface OraclePrice {
  /** Source name, e.g. `pyth`. */
  readonly source: string;
  /** Canonical feed id (`0x` + 64 lowercase hex). */
  readonly id: string;
  /** Signed integer string. */
  readonly price: string;
  /** Unsigned integer string: the confidence interval (± around `price`). */
  readonly conf: string;
  readonly expo: number;
  /** Unix time (seconds) the aggregate was published. */
  readonly publishTime: number;
  /** `price` × 10^`expo` and `conf` × 10^`expo` as numbers (correctly rounded from the decimal). */
  readonly priceNum: number;
  readonly confNum: number;
  /** The EMA price (≈ 1 h window): integer strings, exponent, publish time (s). */
  readonly emaPrice: string;
  readonly emaConf: string;
  readonly emaExpo: number;
  readonly emaPublishTime: number;
  /** Metadata when sent: Pythnet slot, when Hermes had the proof (s), the previous aggregate's publish time (s). */
  readonly slot: number | null;
  readonly proofAvailableTime: number | null;
  readonly prevPublishTime: number | null;
  /** Local receive time (ms). */
  readonly recvTs: number;
}

/** The binary payload of an oracle update as received (Pyth: the accumulator update, for on-chain use). */
export interface OracleBinary {
  readonly encoding: 'hex' | 'base64';
  readonly data: readonly string[];
}

/**
 * One upstream oracle event: the prices it carried that were accepted (new for their feed; duplicates and
 * out-of-order ones are dropped before), and its binary payload (null when not kept).
 */
export interface OracleBatch {
  readonly source: string;
  readonly updates: readonly OraclePrice[];
  readonly binary: OracleBinary | null;
  /** Local receive time (ms). */
  readonly recvTs: number;
}

/** Topic → payload map of the bus. */
export interface BusTopics {
  book: BookUpdate;
  book_reset: BookReset;
  trade: { readonly instrument: Instrument; readonly event: TradeEvent };
  ticker: { readonly instrument: Instrument; readonly event: TickerEvent };
  venue_status: VenueStatus;
  /** Oracle prices (Pyth), one message per upstream event. */
  oracle_price: OracleBatch;
  /** A ready-to-send message of an aggregated feed (consolidated book / summary, arbitrage, health) or an oracle feed (`price_update`). */
  feed_data: { readonly feedId: string; readonly message: object };
}

type Handler<T> = (msg: T) => void;

/** Synchronous typed pub/sub. A throwing handler is isolated: it is counted and does not stop others. */
export class Bus {
  private readonly handlers: { [K in keyof BusTopics]?: Handler<BusTopics[K]>[] } = {};
  /** Handler exceptions caught so far. */
  handlerErrors = 0;
  /** Called with each handler exception (wired to the logger by the composition root). */
  onHandlerError: (topic: string, err: unknown) => void = () => {};

  /** Subscribes; returns the unsubscribe function. */
  on<K extends keyof BusTopics>(topic: K, h: Handler<BusTopics[K]>): () => void {
    const list = (this.handlers[topic] ??= []) as Handler<BusTopics[K]>[];
    list.push(h);
    return () => {
      const i = list.indexOf(h);
      if (i >= 0) list.splice(i, 1);
    };
  }

  publish<K extends keyof BusTopics>(topic: K, msg: BusTopics[K]): void {
    const list = this.handlers[topic] as Handler<BusTopics[K]>[] | undefined;
    if (!list) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i](msg);
      } catch (err) {
        this.handlerErrors++;
        this.onHandlerError(topic, err);
      }
    }
  }

  /** True if anyone listens on `topic` (lets producers skip building messages). */
  has(topic: keyof BusTopics): boolean {
    const l = this.handlers[topic];
    return l !== undefined && l.length > 0;
  }
}
