import {
  GetResourcesCommand,
  type ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import type { TaggingPort } from '../ports/tagging.js';
import { allPages } from './batch.js';
import { awsCall } from './call.js';

const RESOURCES_PER_PAGE = 100;

/** `arn:aws:ec2:us-east-1:123456789012:instance/i-0abc` → `i-0abc`. */
export function idFromArn(arn: string): string {
  const slash = arn.lastIndexOf('/');
  return slash >= 0 ? arn.slice(slash + 1) : (arn.split(':').pop() ?? arn);
}

export class AwsTagging implements TaggingPort {
  constructor(private readonly client: ResourceGroupsTaggingAPIClient) {}

  async findResourceIds(resourceType: 'ec2:instance' | 'ec2:volume', tagKey: string): Promise<string[]> {
    return allPages(
      (token) =>
        awsCall('tagging', 'GetResources', `finding ${resourceType} resources tagged ${tagKey}`, () =>
          this.client.send(
            new GetResourcesCommand({
              ResourceTypeFilters: [resourceType],
              TagFilters: [{ Key: tagKey }],
              ResourcesPerPage: RESOURCES_PER_PAGE,
              PaginationToken: token,
            }),
          ),
        ),
      (page) =>
        (page.ResourceTagMappingList ?? []).flatMap((r) => (r.ResourceARN ? [idFromArn(r.ResourceARN)] : [])),
      // The API ends pagination with an empty string rather than no token; allPages treats both alike.
      (page) => page.PaginationToken,
    );
  }
}
