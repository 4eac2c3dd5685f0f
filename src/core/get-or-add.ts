/**
 * The value a map holds for `key`, made and added by `make` the first time it is asked for (a
 * metric's child per upstream, a logger per member).
 */
export function getOrAdd<K extends object, V>(map: WeakMap<K, V>, key: K, make: () => V): V;
export function getOrAdd<K, V>(map: Map<K, V>, key: K, make: () => V): V;
export function getOrAdd<K extends object, V>(map: Map<K, V> | WeakMap<K, V>, key: K, make: () => V): V {
  const held = map.get(key);
  if (held !== undefined) return held;
  const made = make();
  map.set(key, made);
  return made;
}
