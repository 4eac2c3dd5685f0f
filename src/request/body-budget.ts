/**
 * MAX_BUFFERED_BYTES: one bound on the request body bytes held in memory across every request in
 * flight. MAX_BODY_BYTES bounds one request; without this, N clients that each send a body of
 * almost that size and hold the last byte make the proxy hold N of them until REQUEST_TIMEOUT_MS.
 *
 * Bytes are charged as they are read, what memory really holds (a declared Content-Length that
 * cannot fit in what is left is refused before a byte of it is read), and given back when the
 * request's response is done: the bytes stay held while they are forwarded and may be resent.
 * When the budget is nearly full, small webhooks still fit where large bodies no longer do.
 */
export class BodyBudget {
  private used = 0;

  constructor(readonly limit: number) {}

  /** Bytes charged now, across all requests. */
  get inUse(): number {
    return this.used;
  }

  /** Whether `bytes` more would fit now. */
  fits(bytes: number): boolean {
    return this.used + bytes <= this.limit;
  }

  /** Charges `bytes` when they fit; false (nothing charged) when they would push the sum over the limit. */
  tryCharge(bytes: number): boolean {
    if (!this.fits(bytes)) return false;
    this.used += bytes;
    return true;
  }

  /** Gives back what a request was charged. */
  release(bytes: number): void {
    this.used -= bytes;
  }
}

/** What one request has been charged so far (the pipeline's per-request record carries it). */
export interface BudgetHolder {
  charged: number;
}
