/** Resource Groups Tagging API: finds EC2 resources by tag key in few calls (100 a page). */
export interface TaggingPort {
  /** Ids (not ARNs) of resources of `resourceType` ('ec2:instance' | 'ec2:volume') carrying `tagKey`. */
  findResourceIds(resourceType: 'ec2:instance' | 'ec2:volume', tagKey: string): Promise<string[]>;
}
