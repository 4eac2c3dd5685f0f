/**
 * The routes by the name the mode table uses. Adding a policy is a file beside fixed.ts and a
 * line here.
 */
import type { Config } from '../config/types';
import type { ProxyObserver } from '../observe/observer';
import type { Clock } from '../core/clock';
import { poolFromConfig } from '../upstream/pool';
import { fixedRoute } from './fixed';
import { rendezvousRoute } from './rendezvous';
import type { Route } from './route';

export interface RouteContext {
  readonly config: Config;
  readonly clock: Clock;
  readonly observer: ProxyObserver;
}

export const ROUTES = {
  target: ({ config }: RouteContext): Route => fixedRoute(config.target),
  pool: ({ config, clock, observer }: RouteContext): Route => rendezvousRoute(poolFromConfig(config, clock, observer.upstreamChanged), config.retries),
} as const satisfies Record<string, (context: RouteContext) => Route>;

export type RouteName = keyof typeof ROUTES;
