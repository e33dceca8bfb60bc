import type { ActionHandlers } from '../executor.js';
import { fallbackHandlers } from './fallback.js';
import { replacementHandlers } from './replacement.js';
import { standbyHandlers } from './standby.js';
import { tagHandlers } from './tags.js';
import { volumeHandlers } from './volumes.js';

/** A handler for every action kind the planners produce. */
export function reconcileHandlers(): ActionHandlers {
  return {
    ...tagHandlers,
    ...replacementHandlers,
    ...standbyHandlers,
    ...fallbackHandlers,
    ...volumeHandlers,
  };
}
