/**
 * One request in the pipeline: the typed context every step reads and writes.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyedExchange } from '../affinity/strategy';
import type { RequestOutcome } from '../observe/outcomes';
import type { BudgetHolder } from '../request/body-budget';
import type { UpstreamCall } from '../upstream/sender';

export interface Flight extends BudgetHolder {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  /** How it ends if nothing goes wrong later; reported once, when the response is done. */
  outcome: RequestOutcome;
  /** Set when the request has a key. */
  exchange: KeyedExchange | undefined;
  /** The body, once read (undefined: not read, or streamed through). */
  body: Buffer | undefined;
  /** DEDUPE: the delivery id this request claimed (released when it fails). */
  deliveryId: string | undefined;
  /** DELIVERY=queued: the id of a stored copy a replica is delivering too; this direct copy carries it. */
  storedAs: string | undefined;
  /** The upstream tried last (for the record). */
  upstream: string | undefined;
  /** The request sent upstream last, until the client's response closes. */
  upstreamCall: UpstreamCall | undefined;
  /** When the request arrived (performance.now()), and the socket's bytes written before it. */
  readonly started: number;
  readonly writtenBefore: number;
}

export function newFlight(req: IncomingMessage, res: ServerResponse): Flight {
  return {
    req,
    res,
    outcome: 'passthrough',
    exchange: undefined,
    body: undefined,
    deliveryId: undefined,
    storedAs: undefined,
    upstream: undefined,
    upstreamCall: undefined,
    started: performance.now(),
    writtenBefore: req.socket.bytesWritten,
    charged: 0,
  };
}
