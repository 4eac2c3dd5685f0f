/**
 * A bot for the delivery mailbox's tests: listens on a port it keeps across restarts (so it can be
 * down and come back), records every request it gets, and notes a key that had two at once.
 */
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { closeServer } from './http';

export interface Delivery {
  /** The request path, as received. */
  readonly path: string;
  readonly key: string;
  readonly seq: number;
  readonly id: string | undefined;
  readonly attempt: number;
  readonly body: Buffer;
  readonly headers: http.IncomingHttpHeaders;
}

/** A bot on a fixed port that can be down; records each delivery and whether a key's overlapped. */
export class Bot {
  readonly deliveries: Delivery[] = [];
  /** Keys that had two deliveries in flight at once. */
  readonly overlapped = new Set<string>();
  private readonly inFlight = new Map<string, number>();
  private server: http.Server | undefined;
  port = 0;

  constructor(readonly name = 'bot') {}

  /** Answers a delivery; the default takes it (200). */
  answer: (d: Delivery, res: http.ServerResponse) => void = (_d, res) => res.end('ok');

  async start(): Promise<this> {
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        let doc: { actorId?: string; seq?: number } = {};
        try {
          doc = JSON.parse(body.toString('utf8')) as typeof doc;
        } catch {
          // Not a webhook (a GET): recorded with an empty key.
        }
        const key = String(doc.actorId ?? '');
        const d: Delivery = {
          path: req.url ?? '/',
          key,
          seq: doc.seq ?? -1,
          id: req.headers['x-webhook-delivery-id'] as string | undefined,
          attempt: Number(req.headers['x-webhook-attempt'] ?? 0),
          body,
          headers: req.headers,
        };
        const now = (this.inFlight.get(key) ?? 0) + 1;
        this.inFlight.set(key, now);
        if (now > 1) this.overlapped.add(key);
        // Over when answered, or when its connection closed unanswered (its replica died).
        res.on('close', () => this.inFlight.set(key, (this.inFlight.get(key) ?? 1) - 1));
        // Answered a turn later, so that a second delivery of the key would overlap this one.
        setImmediate(() => {
          this.deliveries.push(d);
          this.answer(d, res);
        });
      });
    });
    server.listen(this.port, '127.0.0.1');
    await once(server, 'listening');
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    if (this.server !== undefined) await closeServer(this.server);
    this.server = undefined;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }
}
