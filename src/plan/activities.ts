import type { ScalingActivity } from '../domain/types.js';

// Reading scaling activities: which failed for lack of Spot capacity, which launched an instance.
//
// A failed Spot launch of an Auto Scaling group reads in one of two ways. The Auto Scaling user guide
// prints EC2's Spot text alone: "There is no Spot capacity available that matches your request.
// Launching EC2 instance failed." ("Troubleshoot Amazon EC2 Auto Scaling: EC2 instance launch failures")
// and "Your Spot request price of 0.001 is lower than the minimum required Spot request fulfillment
// price of 0.0031. Launching EC2 instance failed." ("Troubleshoot Amazon EC2 Auto Scaling", example
// response). AWS's Knowledge Center prints the prefixed form "Could not launch Spot Instances.
// UnfulfillableCapacity - Unable to fulfill capacity ... Launching EC2 instance failed." (EC2's error
// codes, "Error codes for the Amazon EC2 API"). Both are recognised. An On-Demand shortage reads "We
// currently do not have sufficient <type> capacity in the Availability Zone you requested ..."
// (ts-as-capacity-1): On-Demand would not help there, so it must not trigger the fallback. Samples, each
// with its document and wording: test/fixtures/scaling-activities/.

/** The EC2 error codes after "Could not launch Spot Instances." that On-Demand capacity can cover. */
const SPOT_SHORTAGE_PREFIXED =
  /Could not launch Spot Instances\.\s*(InsufficientInstanceCapacity|SpotMaxPriceTooLow|UnfulfillableCapacity|MaxSpotInstanceCountExceeded)\b/;
/** The documented texts without the prefix, at the start of the message or after "Status Reason:". */
const SPOT_SHORTAGE_DOCUMENTED =
  /(?:^|Status Reason:\s*)(?:There is no Spot capacity available that matches your request\.|Your Spot request price of \S+ is lower than the minimum required Spot request fulfillment price)/;
const SPOT_SHORTAGE = {
  test: (text: string) => SPOT_SHORTAGE_PREFIXED.test(text) || SPOT_SHORTAGE_DOCUMENTED.test(text),
};

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
