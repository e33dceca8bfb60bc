import type { TaggingPort } from '../ports/tagging.js';
import type { SimApi } from './api.js';
import type { Ec2State } from './ec2-state.js';

/** Resource Groups Tagging API over the simulation's tag index: one request per page of 100 ids. */
export class SimTagging implements TaggingPort {
  constructor(
    private readonly state: Ec2State,
    private readonly api: SimApi,
  ) {}

  async findResourceIds(resourceType: 'ec2:instance' | 'ec2:volume', tagKey: string): Promise<string[]> {
    const prefix = resourceType === 'ec2:instance' ? 'i-' : 'vol-';
    const ids = [...(this.state.tagIndex.get(tagKey) ?? [])]
      .filter((id) => id.startsWith(prefix) && this.state.instances.get(id)?.state !== 'terminated')
      .sort();
    const pages = Math.max(1, Math.ceil(ids.length / 100));
    for (let p = 0; p < pages; p++) {
      await this.api.call(
        'tagging',
        'GetResources',
        `finding ${resourceType} tagged ${tagKey}`,
        () => undefined,
      );
    }
    return ids;
  }
}
