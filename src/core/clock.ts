/**
 * Time as the proxy reads it, for everything that waits, expires or schedules.
 */

/** A source of the current time in milliseconds; injected so TTL tests never sleep. */
export type Clock = () => number;
