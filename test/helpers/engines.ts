/**
 * The forwarding contract runs once per forward engine: these files' suites are repeated for
 * each engine of FORWARD_ENGINES (aliases of one engine run once).
 */
import { FORWARD_ENGINES, type ForwardEngine } from '../../src/upstream/engines';

/** One name per engine, in the table's order. */
export const ENGINES: readonly ForwardEngine[] = (Object.keys(FORWARD_ENGINES) as ForwardEngine[]).filter(
  (name, i, names) => names.findIndex((other) => FORWARD_ENGINES[other] === FORWARD_ENGINES[name]) === i,
);
