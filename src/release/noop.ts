import type { ReleaseOutcome, ReleaseRequest, Releaser } from '../ports/releaser.js';

/** For groups with no release steps configured: releasing is immediately done. */
export class NoopReleaser implements Releaser {
  readonly name = 'noop';
  async release(_req: ReleaseRequest): Promise<ReleaseOutcome> {
    return { step: this.name, status: 'skipped', durationMs: 0, detail: 'no release steps configured' };
  }
}
