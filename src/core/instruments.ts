/**
 * Instruments and canonical symbols.
 *
 * Canonical symbols use ccxt's unified notation: `BASE/QUOTE` for spot (`BTC/USDT`),
 * `BASE/QUOTE:SETTLE` for perpetual swaps (`BTC/USDT:USDT` linear, `BTC/USD:BTC` inverse).
 * The venue's own symbol is always kept next to it.
 */
import type { VenueId } from './events.ts';

/** Kind of market. */
export type MarketType = 'spot' | 'linear' | 'inverse';

/** A tradable instrument on one venue. */
export interface Instrument {
  readonly venue: VenueId;
  /**
   * Key unique within the venue. The same venue symbol can name a spot pair and a perpetual
   * (Bybit `BTCUSDT`), so the key includes the market type: `spot:BTCUSDT`, `linear:BTCUSDT`.
   */
  readonly key: string;
  /** The venue's symbol, exactly as used on the wire (e.g. `BTCUSDT`). */
  readonly venueSymbol: string;
  /** Canonical symbol (ccxt unified), e.g. `BTC/USDT` or `BTC/USDT:USDT`. */
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Settlement currency for derivatives. */
  readonly settle?: string;
  readonly type: MarketType;
  /** Minimum price increment, venue decimal string, when known. */
  readonly tickSize?: string;
  /** Minimum size increment (base units or contracts), venue decimal string, when known. */
  readonly lotSize?: string;
}

/** Builds the canonical symbol from its parts. */
export function canonicalSymbol(base: string, quote: string, type: MarketType, settle?: string): string {
  const s = `${base.toUpperCase()}/${quote.toUpperCase()}`;
  return type === 'spot' ? s : `${s}:${(settle ?? quote).toUpperCase()}`;
}

/** Builds the venue-unique instrument key. */
export function instrumentKey(type: MarketType, venueSymbol: string): string {
  return `${type}:${venueSymbol}`;
}

/** Lookup of one venue's instruments by key, venue symbol (per market type) and canonical symbol. */
export class InstrumentIndex {
  private readonly byKey = new Map<string, Instrument>();
  private readonly bySymbol = new Map<string, Instrument>();

  constructor(readonly venue: VenueId, instruments: Iterable<Instrument> = []) {
    for (const i of instruments) this.add(i);
  }

  /** Adds or replaces an instrument. */
  add(i: Instrument): void {
    this.byKey.set(i.key, i);
    this.bySymbol.set(i.symbol, i);
  }

  /** By venue-unique key (`spot:BTCUSDT`). */
  get(key: string): Instrument | undefined {
    return this.byKey.get(key);
  }

  /** By canonical symbol (`BTC/USDT:USDT`). */
  bySymbolName(symbol: string): Instrument | undefined {
    return this.bySymbol.get(symbol);
  }

  /** By market type and venue symbol. */
  byVenueSymbol(type: MarketType, venueSymbol: string): Instrument | undefined {
    return this.byKey.get(instrumentKey(type, venueSymbol));
  }

  /**
   * By canonical symbol, or by the venue's own symbol (`BTCUSDT`, `BTC-USD`): spot first, then linear, then
   * inverse, so a bare venue symbol that names both a spot pair and a perpetual resolves to the spot pair.
   */
  resolve(symbol: string): Instrument | undefined {
    return this.bySymbol.get(symbol) ?? this.byVenueSymbol('spot', symbol) ?? this.byVenueSymbol('linear', symbol) ?? this.byVenueSymbol('inverse', symbol);
  }

  get size(): number {
    return this.byKey.size;
  }

  all(): Instrument[] {
    return [...this.byKey.values()];
  }
}
