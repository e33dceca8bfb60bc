import type { ScalingActivity } from '../domain/types.js';

// Reading scaling activities: which failed for lack of Spot capacity, which launched an instance.
//
// A failed Spot launch of an Auto Scaling group reads "Could not launch Spot Instances. <EC2 error
// code> - <text>. Launching EC2 instance failed." (Amazon EC2 Auto Scaling User Guide, "Troubleshoot
// Amazon EC2 Auto Scaling: EC2 instance launch failures"; the codes are EC2's, "Error codes for the
// Amazon EC2 API"). An On-Demand shortage reads "We currently do not have sufficient <type> capacity
// in the Availability Zone you requested ..." without that prefix: On-Demand would not help there, so
// it must not trigger the fallback. Samples: test/fixtures/scaling-activities/.

/** The EC2 error codes after "Could not launch Spot Instances." that On-Demand capacity can cover. */
const SPOT_SHORTAGE =
  /Could not launch Spot Instances\.\s*(InsufficientInstanceCapacity|SpotMaxPriceTooLow|UnfulfillableCapacity|MaxSpotInstanceCountExceeded)\b/;

export function isSpotCapacityFailure(a: ScalingActivity): boolean {
  if (a.statusCode !== 'Failed' && a.statusCode !== 'Cancelled') return false;
  // The status message carries the reason; the description repeats it after "Status Reason:".
  return SPOT_SHORTAGE.test(a.statusMessage ?? '') || SPOT_SHORTAGE.test(a.description ?? '');
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
