import type { Logger } from '../ports/logger.js';
import type { SimEvent } from '../sim/bus.js';
import type { SimRegion } from '../sim/region.js';

// The demo's narration: one line per thing that happens in the simulated region and per action
// spotmax takes, stamped with the virtual time, e.g.
//   12:03:07 spot warning i-0a1… web-asg (us-east-1b), deadline 12:05:07
//   12:03:08   -> i-0a1… detached from web-asg 1.0 s after the warning (desired kept: the group launches a replacement)
//   12:04:41   => web-asg back to 9/9 InService: i-0f2… replaced i-0a1… 94.2 s after the warning, before the deadline

const hhmmss = (ms: number) => new Date(ms).toISOString().slice(11, 19);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Warning {
  instanceId: string;
  group: string;
  at: number;
  deadline: number;
}

/**
 * The demo's output, stamped with the simulated clock. A few effects happen inside the call that causes
 * them (a standby is launched while RunInstances runs) but the reconciler says what it did only once
 * the call returns: such effects are held until their cause is printed (or 5 s of simulated time), so
 * the narration reads cause, then effect.
 */
export class Narrator {
  private readonly held: string[] = [];

  constructor(
    private readonly region: SimRegion,
    private readonly out: (line: string) => void,
  ) {}

  say(text: string): void {
    this.out(`${hhmmss(this.region.clock.nowMs())} ${text}`);
  }

  /** An effect whose cause is yet to be printed. */
  effect(text: string): void {
    this.held.push(text);
    this.region.clock.after(5_000, () => this.flush());
  }

  /** A cause: printed, then the effects held for it. */
  cause(text: string): void {
    this.say(text);
    this.flush();
  }

  private flush(): void {
    for (const text of this.held.splice(0)) this.say(text);
  }
}

export function attachDemoPrinter(region: SimRegion, narrator: Narrator): void {
  const { clock, asg, ec2 } = region;
  const say = (text: string) => narrator.say(text);
  const pending = new Map<string, Warning[]>();
  const warned = new Map<string, Warning>();
  const lastFailure = new Map<string, number>();
  const standbyOf = (id: string) => ec2.get(id)?.tags['spotmax:standby-for'];

  region.bus.on((e: SimEvent) => {
    switch (e.type) {
      case 'storm':
        say(`⚡ storm "${e.name}": ${e.instances} Spot instance(s) of ${e.pool} to be reclaimed`);
        break;
      case 'outage':
        say(
          e.active
            ? `⛔ ${e.name}: Spot launches in ${e.azs.join(', ')} fail from now`
            : `✅ ${e.name} over: Spot capacity is back`,
        );
        break;
      case 'spot-warning': {
        const group = asg.memberOf.get(e.instanceId);
        if (!group) break;
        const w = { instanceId: e.instanceId, group, at: clock.nowMs(), deadline: e.deadline };
        warned.set(e.instanceId, w);
        pending.set(group, [...(pending.get(group) ?? []), w]);
        say(`spot warning ${e.instanceId} ${group} (${e.az}), deadline ${hhmmss(e.deadline)}`);
        break;
      }
      case 'rebalance': {
        const group = asg.memberOf.get(e.instanceId);
        if (group) say(`rebalance recommendation ${e.instanceId} ${group}`);
        break;
      }
      case 'detach':
        for (const id of e.instanceIds) {
          const w = warned.get(id);
          const after = w ? ` ${secs(clock.nowMs() - w.at)} after the warning` : '';
          const how = e.decrement
            ? 'desired lowered: its replacement is already in'
            : 'desired kept: the group launches a replacement';
          say(`  -> ${id} detached from ${e.group}${after} (${how})`);
        }
        break;
      case 'attach':
        for (const id of e.instanceIds)
          say(`  -> ${id} attached to ${e.group}${standbyOf(id) ? ' (a standby)' : ''}`);
        break;
      case 'member-state': {
        if (e.state !== 'InService') break;
        const q = pending.get(e.group);
        const w = q?.shift();
        if (!w) break;
        const g = asg.groups.get(e.group);
        const when =
          clock.nowMs() <= w.deadline
            ? 'before the deadline'
            : `${secs(clock.nowMs() - w.deadline)} after the deadline`;
        say(
          `  => ${e.group} ${g?.inService ?? '?'}/${g?.desired ?? '?'} InService: ${e.instanceId} replaced ${w.instanceId} ${secs(clock.nowMs() - w.at)} after the warning, ${when}`,
        );
        break;
      }
      case 'instance-state': {
        const owner = standbyOf(e.instanceId);
        if (!owner) break;
        if (e.from === 'none') narrator.effect(`  -> standby ${e.instanceId} launched for ${owner}`);
        else if (e.from === 'stopped' && e.to === 'pending')
          say(
            `  -> standby ${e.instanceId} starting for ${owner}${ec2.get(e.instanceId)?.hibernationConfigured ? ' (resume from hibernation)' : ''}`,
          );
        else if (e.to === 'stopped')
          say(
            `standby ${e.instanceId} ${ec2.get(e.instanceId)?.hibernated ? 'hibernated' : 'stopped'}, ready for ${owner}`,
          );
        break;
      }
      case 'launch-failed': {
        const last = lastFailure.get(e.group) ?? 0;
        if (clock.nowMs() - last < 300_000) break;
        lastFailure.set(e.group, clock.nowMs());
        say(`${e.group}: launch failed: ${e.message}`);
        break;
      }
      case 'group-updated':
        if (e.detail.includes('mixedInstancesPolicy'))
          say(`${e.group}: instances distribution changed (${e.detail})`);
        break;
      case 'volume':
        if (e.action !== 'created')
          say(
            `volume ${e.volumeId} ${e.action} ${e.action === 'attached' ? 'to' : 'from'} ${e.instanceId} (${e.az})`,
          );
        break;
      default:
        break;
    }
  });
}

/**
 * A Logger for the controllers that narrates: the actions the reconciler takes (with their reason),
 * and warnings and errors; the fast path's own chatter is left to the region's events above.
 */
export function demoLogger(narrator: Narrator, bindings: Record<string, unknown> = {}): Logger {
  const say = (text: string) => narrator.say(text);
  const detail = (obj: object) => {
    const o = obj as { reason?: string; err?: unknown };
    return o.reason ? ` (${o.reason})` : o.err ? `: ${String(o.err)}` : '';
  };
  return {
    info: (obj, msg) => {
      if (bindings.action && msg) narrator.cause(`spotmax: ${msg}${detail(obj)}`);
    },
    warn: (obj, msg) => say(`WARN ${msg ?? ''}${detail(obj)}`),
    error: (obj, msg) => say(`ERROR ${msg ?? ''}${detail(obj)}`),
    debug: () => {},
    child: (more) => demoLogger(narrator, { ...bindings, ...more }),
  };
}
