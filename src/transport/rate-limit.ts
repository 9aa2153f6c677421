/**
 * A token bucket: a venue's REST request budget. `requestsPerSecond` tokens are added continuously up to
 * `burstSize`; a request takes one token. Used for snapshot fetches so a burst of resyncs never exceeds
 * the venue's limits (and never gets the gateway banned).
 */
export class TokenBucket {
  private tokens: number;
  private last: number;

  /**
   * @param requestsPerSecond refill rate (tokens per second, > 0)
   * @param burstSize capacity (≥ 1): requests that may go out back to back
   * @param now clock in ms (default `Date.now`)
   */
  constructor(
    readonly requestsPerSecond: number,
    readonly burstSize: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burstSize;
    this.last = now();
  }

  private refill(): void {
    const t = this.now();
    this.tokens = Math.min(this.burstSize, this.tokens + ((t - this.last) / 1000) * this.requestsPerSecond);
    this.last = t;
  }

  /** Takes a token when one is available and returns 0; otherwise takes nothing and returns the wait in ms until one is. */
  take(): number {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.ceil(((1 - this.tokens) / this.requestsPerSecond) * 1000);
  }
}
