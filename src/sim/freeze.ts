/**
 * Freezes a described shape the simulation hands out more than once, so a caller that tried to change
 * it in place fails loudly instead of corrupting what the next caller sees.
 */
export function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value) && !(value instanceof Date)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
