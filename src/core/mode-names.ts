/**
 * The AFFINITY_MODE names, apart from modes.ts's table of what each mode is: the Config type
 * names a mode without importing the strategies the table holds (and, through them, Config
 * again). The table must give every name its traits, and nothing else: the compiler checks both.
 */
export const AFFINITY_MODES = ['header', 'cookie', 'both', 'hash'] as const;

export type AffinityMode = (typeof AFFINITY_MODES)[number];
