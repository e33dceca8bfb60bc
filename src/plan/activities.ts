import type { ScalingActivity } from '../domain/types.js';

// Reading scaling activities: which failed for lack of Spot capacity, which launched an instance.

const SPOT_CAPACITY =
  /InsufficientInstanceCapacity|InsufficientSpotCapacity|SpotMaxPriceTooLow|MaxSpotInstanceCountExceeded|UnfulfillableCapacity|capacity-not-available|no Spot capacity|Spot capacity (is )?not available|insufficient capacity|do not have sufficient .*capacity/i;

export function isSpotCapacityFailure(a: ScalingActivity): boolean {
  if (a.statusCode !== 'Failed' && a.statusCode !== 'Cancelled') return false;
  return SPOT_CAPACITY.test(`${a.statusMessage ?? ''} ${a.description ?? ''}`);
}

export function isSuccessfulLaunch(a: ScalingActivity): boolean {
  return a.statusCode === 'Successful' && /launching a new EC2 instance/i.test(a.description ?? '');
}

/** Spot capacity failures since the last successful launch (and since `after`, when given), oldest first. */
export function spotFailureStreak(activities: readonly ScalingActivity[], after?: Date): ScalingActivity[] {
  const lastSuccess = Math.max(
    after?.getTime() ?? Number.NEGATIVE_INFINITY,
    ...activities.filter(isSuccessfulLaunch).map((a) => a.startTime.getTime()),
  );
  return activities
    .filter((a) => isSpotCapacityFailure(a) && a.startTime.getTime() > lastSuccess)
    .sort((a, b) => a.startTime.getTime() - b.startTime.getTime());
}
