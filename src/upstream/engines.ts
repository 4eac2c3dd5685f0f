/**
 * The forward engines by FORWARD_ENGINE name: what sends every upstream request (sender.ts says
 * what each must do). Adding one is a file in engines/ and a line below; the forwarding contract
 * suite (test/forwarding-contract.test.ts) runs over every name in this table.
 */
import { createNodeSender } from './engines/node-http';
import { createUndiciSender } from './engines/undici';
import type { Sender, SenderOptions } from './sender';

export const FORWARD_ENGINES = {
  undici: createUndiciSender,
  node: createNodeSender,
  // The name the project's first engine went by: requests went out through Node's http client
  // under http-proxy, which the node engine does directly (http-proxy was last released in 2020).
  'http-proxy': createNodeSender,
} as const satisfies Record<string, (options: SenderOptions) => Sender>;

export type ForwardEngine = keyof typeof FORWARD_ENGINES;

/** FORWARD_ENGINE when unset. */
export const DEFAULT_FORWARD_ENGINE: ForwardEngine = 'undici';

export const FORWARD_ENGINE_NAMES = Object.keys(FORWARD_ENGINES) as readonly ForwardEngine[];

export function createSender(engine: ForwardEngine, options: SenderOptions): Sender {
  return FORWARD_ENGINES[engine](options);
}
