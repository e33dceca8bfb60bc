// Tag keys spotmax reads and writes on AWS resources. The seed's keys (max_group) stay as they were,
// so existing users keep their tags; see config/tag-keys.ts for the ones that map to policy fields.
export const TAG_PREFIX = 'spotmax:';
/** On every member and volume of a managed group, and propagated at launch by the ASG. */
export const GROUP_TAG = 'spotmax:group';
/** On standby instances kept outside the group. */
export const STANDBY_FOR_TAG = 'spotmax:standby-for';
/** Idempotency marker written before any effect of an interruption release. */
export const INTERRUPTED_AT_TAG = 'spotmax:interrupted-at';
/** Written by the fast path for rebalance `replace`; the reconciler replaces the instance. */
export const RETIRE_REQUESTED_TAG = 'spotmax:retire-requested';
/** Replacement progress, so a restarted process resumes a launch-before-retire. */
export const REPLACEMENT_TAG = 'spotmax:replacement';
/** On the group while on-demand fallback is active: the original instances distribution (JSON). */
export const FALLBACK_ORIGINAL_TAG = 'spotmax:fallback-original';
/** On an instance: the id of the persistent volume attached to it, for in-instance scripts. */
export const VOLUME_TAG = 'spotmax:volume';
export const ENABLED_TAG = 'spotmax:enabled';
export const POLICY_TAG = 'spotmax:policy';
