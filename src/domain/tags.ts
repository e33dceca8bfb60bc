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
/**
 * On the new member a launch-before-retire claimed: the id of the instance it replaces. Once the old
 * instance is gone its record goes with it, and without this mark a later replacement could claim the
 * same new member and retire its own old instance before its capacity arrived.
 */
export const REPLACES_TAG = 'spotmax:replaces';
/**
 * On the group while standby launches fail: `<ISO time> <error>`, so `plan` (a separate process) shows
 * the failure and the reason; removed by the next launch that succeeds.
 */
export const STANDBY_ERROR_TAG = 'spotmax:standby-error';
/** Replacement progress, so a restarted process resumes a launch-before-retire. */
export const REPLACEMENT_TAG = 'spotmax:replacement';
/**
 * On the group while on-demand fallback is active: its state (JSON, plan/fallback-record.ts). The key
 * is kept from the versions that stored the original distribution there.
 */
export const FALLBACK_ORIGINAL_TAG = 'spotmax:fallback-original';
/** On an On-Demand instance launched to cover a Spot shortfall: the group it was launched for. */
export const FALLBACK_FOR_TAG = 'spotmax:fallback-for';
/** On an instance: the id of the persistent volume attached to it, for in-instance scripts. */
export const VOLUME_TAG = 'spotmax:volume';
export const ENABLED_TAG = 'spotmax:enabled';
export const POLICY_TAG = 'spotmax:policy';
/** On a standby: the numeric launch template version it was built from; older ones are replaced. */
export const STANDBY_TEMPLATE_VERSION_TAG = 'spotmax:standby-template-version';
/** On a standby: the id of the launch template it was built from (a group's overrides may name several). */
export const STANDBY_TEMPLATE_TAG = 'spotmax:standby-template';
/**
 * On a standby StartInstances refused for lack of capacity (InsufficientInstanceCapacity):
 * `<iso time> <type> <az>`. The fast path fell back to the plain detach; the reconciler replaces it with
 * another type or AZ.
 */
export const STANDBY_UNSTARTABLE_TAG = 'spotmax:standby-unstartable';
/** On a standby the fast path is starting for an interruption: `<interrupted id>@<iso time>`. */
export const STANDBY_CLAIMED_TAG = 'spotmax:standby-claimed';
/** On a snapshot spotmax took: the volume it is of. */
export const SNAPSHOT_OF_TAG = 'spotmax:snapshot-of';
/** On a volume no member in its AZ could take: since when (ISO time), for the cross-AZ move. */
export const VOLUME_UNPLACED_SINCE_TAG = 'spotmax:unplaced-since';
/** On a volume recreated in another AZ: the volume it replaces. */
export const RECREATED_FROM_TAG = 'spotmax:recreated-from';
/** On a stranded volume that was recreated elsewhere: the new volume. Kept, never deleted. */
export const SUPERSEDED_BY_TAG = 'spotmax:superseded-by';
/**
 * On the group while a standby swap has raised MaxSize to make room for the attach (AttachInstances may not
 * take desired above MaxSize): `max=<original MaxSize> since=<ISO time>`. The fast path restores MaxSize
 * after the detach; a record older than a few minutes (a crash mid-swap) is finished by the reconciler.
 */
export const STANDBY_SWAP_TAG = 'spotmax:standby-swap';
/**
 * On a standby swapped into its group, from just before the attach until the interrupted instance's
 * detach with decrement (or a take-back) is done: `for=<interrupted id> desired=<n> units=<u> since=<ISO
 * time>` (domain/swap-records.ts). One older than a swap can take means the attach's units may still be
 * in desired: the reconciler takes them back once (plan/swap-settle.ts).
 */
export const SWAPPED_IN_TAG = 'spotmax:swapped-in';
