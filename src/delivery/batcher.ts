/**
 * Group commit for a networked spool: calls made while the previous batch is in flight wait and
 * go together in the next one (one round trip and one commit for many webhooks). The first call
 * after a quiet moment goes at once, alone: batching adds no wait when there is no load.
 *
 * Calls are cut into lanes by a key (a mailbox): one batch per lane is in flight at a time, so
 * the calls of one key reach the database in the order they were made, while different lanes
 * proceed side by side.
 */
import { shardOf } from './shards';

interface Waiting<In, Out> {
  readonly input: In;
  readonly resolve: (out: Out) => void;
  readonly reject: (err: unknown) => void;
}

class Lane<In, Out> {
  private waiting: Waiting<In, Out>[] = [];
  private busy = false;

  constructor(
    private readonly send: (inputs: readonly In[]) => Promise<readonly Out[]>,
    private readonly maxBatch: number,
  ) {}

  add(input: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.waiting.push({ input, resolve, reject });
      if (!this.busy) this.next();
    });
  }

  private next(): void {
    if (this.waiting.length === 0) {
      this.busy = false;
      return;
    }
    this.busy = true;
    const batch = this.waiting.splice(0, this.maxBatch);
    this.send(batch.map((w) => w.input)).then(
      (outs) => {
        batch.forEach((w, i) => {
          if (i < outs.length) w.resolve(outs[i]!);
          else w.reject(new Error('the batch answered fewer results than it was sent'));
        });
        this.next();
      },
      (err: unknown) => {
        for (const w of batch) w.reject(err);
        this.next();
      },
    );
  }
}

export class Batcher<In, Out> {
  private readonly lanes: Lane<In, Out>[];

  /** `send` answers one result per input, in order. */
  constructor(send: (inputs: readonly In[]) => Promise<readonly Out[]>, options: { readonly lanes: number; readonly maxBatch: number }) {
    this.lanes = Array.from({ length: options.lanes }, () => new Lane(send, options.maxBatch));
  }

  /** Sends `input` with the others of its lane (chosen by `key`); resolves with its own result. */
  add(key: string, input: In): Promise<Out> {
    return this.lanes[shardOf(key, this.lanes.length)]!.add(input);
  }
}
