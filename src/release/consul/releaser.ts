import type { GroupSettings } from '../../config/schema.js';
import { DeadlineError, describeError } from '../../domain/errors.js';
import type { Clock } from '../../ports/clock.js';
import type { Logger } from '../../ports/logger.js';
import type { ReleaseOutcome, ReleaseRequest, Releaser } from '../../ports/releaser.js';
import { withDeadline } from '../../timing/deadline.js';
import { readConsulToken } from './token.js';

// The Consul release step, as the seed does it: ask the instance's own agent for its services,
// deregister each, then make the agent leave, so no traffic is routed to a dying node. When the agent
// cannot be reached in time and a central Consul is configured, the node is deregistered from the
// catalog there instead. The catalog's node name is looked up by the instance's private IP (the
// address the agent registered; the central server is asked, the instance is not contacted); when no
// node has that address, the private DNS name is used, then the instance id.

export interface ConsulReleaserOptions {
  settings: GroupSettings['consul'];
  clock: Clock;
  logger: Logger;
  /** Environment values the composition root passed in (for tokenEnv); never process.env here. */
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
}

const STEP = 'consul';

class ConsulCallError extends Error {
  override name = 'ConsulCallError';
  constructor(
    message: string,
    /** No answer at all (refused, timed out): the agent is unreachable. */
    readonly unreachable: boolean,
    readonly status?: number,
  ) {
    super(message);
  }
}

function baseUrl(address: string): string {
  return /^https?:\/\//.test(address) ? address.replace(/\/+$/, '') : `http://${address}`;
}

export class ConsulReleaser implements Releaser {
  readonly name = STEP;
  private readonly fetch: typeof fetch;

  constructor(private readonly opts: ConsulReleaserOptions) {
    this.fetch = opts.fetch ?? fetch;
  }

  /** The agent's address for this instance: the template with {privateIp} and {port} filled in. */
  agentAddress(instance: ReleaseRequest['instance']): string | undefined {
    const { address, port } = this.opts.settings;
    if (address.includes('{privateIp}') && !instance.privateIp) return undefined;
    return address.replaceAll('{privateIp}', instance.privateIp ?? '').replaceAll('{port}', String(port));
  }

  private async call(
    url: string,
    init: { method: string; body?: string; token?: string },
    limitMs: number,
    parent: AbortSignal,
    what: string,
  ): Promise<unknown> {
    const timeoutMs = Math.min(this.opts.settings.timeoutSeconds * 1000, limitMs);
    const headers: Record<string, string> = {};
    if (init.token) headers['X-Consul-Token'] = init.token;
    if (init.body) headers['Content-Type'] = 'application/json';
    try {
      return await withDeadline(
        async (signal) => {
          let res: Response;
          try {
            res = await this.fetch(url, { method: init.method, headers, body: init.body, signal });
          } catch (err) {
            throw new ConsulCallError(`${what}: ${causeText(err)}`, true);
          }
          const text = await res.text().catch(() => '');
          if (!res.ok) {
            const hint = res.status === 403 ? ' (ACL token missing or not allowed)' : '';
            throw new ConsulCallError(
              `${what}: HTTP ${res.status}${hint} ${text.slice(0, 200)}`.trim(),
              [502, 503, 504].includes(res.status),
              res.status,
            );
          }
          return text ? (JSON.parse(text) as unknown) : undefined;
        },
        { clock: this.opts.clock, ms: timeoutMs, signal: parent, what },
      );
    } catch (err) {
      // No answer in time (or the caller gave up): the agent counts as unreachable.
      if (err instanceof DeadlineError) throw new ConsulCallError(err.message, true);
      if (parent.aborted) throw new ConsulCallError(`${what}: ${describeError(parent.reason)}`, true);
      throw err;
    }
  }

  async release(req: ReleaseRequest): Promise<ReleaseOutcome> {
    const { clock, settings } = this.opts;
    const started = clock.now().getTime();
    const id = req.instance.instanceId;
    const outcome = (
      status: ReleaseOutcome['status'],
      detail: string,
      counts: Record<string, number> = {},
    ): ReleaseOutcome => ({
      step: STEP,
      status,
      durationMs: clock.now().getTime() - started,
      detail,
      counts,
    });
    // The step ends a little before the deadline so it reports its own outcome (which fallback ran)
    // rather than being cut off by runReleasers.
    const margin = Math.min(250, Math.max(0, (req.deadline.getTime() - started) * 0.05));
    const left = () => req.deadline.getTime() - margin - clock.now().getTime();
    const log = this.opts.logger.child({ step: STEP, instanceId: id, group: req.groupName });

    const { token, problem } = await readConsulToken(settings, this.opts.env);
    if (problem) return outcome('failed', problem, { consulFailures: 1 });

    const address = this.agentAddress(req.instance);
    let agentError: ConsulCallError | undefined;
    if (!address) {
      agentError = new ConsulCallError(
        `instance ${id} has no private IP for the agent address ${settings.address}`,
        true,
      );
    } else {
      const agent = baseUrl(address);
      // With a central fallback, the agent gets at most half of the time, so the fallback still fits.
      const agentBudget = settings.centralAddress ? left() / 2 : left();
      try {
        const services = (await this.call(
          `${agent}/v1/agent/services`,
          { method: 'GET', token },
          agentBudget,
          req.signal,
          `listing services of the Consul agent at ${address}`,
        )) as Record<string, { ID?: string; Service?: string }> | undefined;
        const ids = Object.values(services ?? {})
          .map((s) => s.ID ?? '')
          .filter(Boolean);
        const results = await Promise.allSettled(
          ids.map((sid) =>
            this.call(
              `${agent}/v1/agent/service/deregister/${encodeURIComponent(sid)}`,
              { method: 'PUT', token },
              left(),
              req.signal,
              `deregistering service ${sid} at ${address}`,
            ),
          ),
        );
        const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
        const counts: Record<string, number> = {
          servicesDeregistered: ids.length - failed.length,
          servicesFailed: failed.length,
        };
        let leaveProblem: string | undefined;
        try {
          await this.call(
            `${agent}/v1/agent/leave`,
            { method: 'PUT', token },
            left(),
            req.signal,
            `asking the agent at ${address} to leave`,
          );
          counts.agentLeft = 1;
        } catch (err) {
          leaveProblem = (err as Error).message;
        }
        const problems = [...failed, ...(leaveProblem ? [leaveProblem] : [])];
        if (problems.length) counts.consulFailures = 1;
        const detail = `${counts.servicesDeregistered}/${ids.length} services deregistered at ${address}${counts.agentLeft ? ', agent left' : ''}`;
        return outcome(
          problems.length ? 'partial' : 'done',
          problems.length ? `${detail}; ${problems.join('; ')}` : detail,
          counts,
        );
      } catch (err) {
        if (!(err instanceof ConsulCallError) || !err.unreachable) {
          return outcome('failed', err instanceof Error ? err.message : String(err), { consulFailures: 1 });
        }
        agentError = err;
      }
    }

    if (!settings.centralAddress) {
      return outcome('failed', `${agentError.message}; no consul.centralAddress to fall back on`, {
        consulFailures: 1,
      });
    }
    log.warn(
      { error: agentError.message, central: settings.centralAddress },
      'Consul agent unreachable; deregistering the node from the central catalog',
    );
    const central = baseUrl(settings.centralAddress);
    try {
      const node = await this.catalogNodeName(central, req, token);
      await this.call(
        `${central}/v1/catalog/deregister`,
        { method: 'PUT', token, body: JSON.stringify({ Node: node }) },
        left(),
        req.signal,
        `deregistering node ${node} from the catalog at ${settings.centralAddress}`,
      );
      return outcome(
        'done',
        `${agentError.message}; node ${node} deregistered from the catalog at ${settings.centralAddress}`,
        {
          catalogDeregistered: 1,
        },
      );
    } catch (err) {
      return outcome('failed', `${agentError.message}; fallback failed: ${(err as Error).message}`, {
        consulFailures: 1,
      });
    }
  }

  private async catalogNodeName(
    central: string,
    req: ReleaseRequest,
    token: string | undefined,
  ): Promise<string> {
    const fallback = req.instance.privateDnsName ?? req.instance.instanceId;
    if (!req.instance.privateIp) return fallback;
    try {
      const nodes = (await this.call(
        `${central}/v1/catalog/nodes`,
        { method: 'GET', token },
        (req.deadline.getTime() - this.opts.clock.now().getTime()) / 2,
        req.signal,
        'listing catalog nodes',
      )) as { Node?: string; Address?: string }[] | undefined;
      return nodes?.find((n) => n.Address === req.instance.privateIp)?.Node ?? fallback;
    } catch {
      return fallback;
    }
  }
}

function causeText(err: unknown): string {
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  return cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
}
