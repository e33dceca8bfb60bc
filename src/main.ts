import { Command, CommanderError, Option } from 'commander';
import type { CommandIO, Env } from './cli/io.js';
import { describeError, isMissingCredentials, UserError } from './domain/errors.js';

// Composition root: the only place that reads process.env and argv. Each command lives in cli/.

export type { CommandIO, Env };

const collect = (value: string, previous: string[] = []) => [...previous, value];

export function buildProgram(io: CommandIO, setExit: (code: number) => void): Command {
  const program = new Command('spotmax')
    .description('Keeps EC2 Auto Scaling groups on Spot capacity healthy and cheap.')
    .version(process.env.npm_package_version ?? '0.1.0')
    .exitOverride()
    .configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });

  const cloudOption = () =>
    new Option('--cloud <kind>', 'aws (the real region) or sim (the built-in simulated region)')
      .choices(['aws', 'sim'])
      .default('aws');

  program
    .command('run')
    .description('the service: reconcile loop, interruption event loop, and /healthz /readyz /metrics')
    .addOption(cloudOption())
    .option('--policies <dir>', 'policy folder (SPOTMAX_POLICIES)')
    .option(
      '--queue-url <url>',
      'SQS queue with interruption events; repeatable (SPOTMAX_QUEUE_URL)',
      collect,
    )
    .option('--region <region>', 'AWS region (AWS_REGION)')
    .option('--interval <cron>', 'reconcile schedule, a cron expression', '* * * * *')
    .option('--pollers <n>', 'concurrent receive loops per queue', '2')
    .option('--concurrency <n>', 'events handled at once', '64')
    .option('--grace <seconds>', 'on SIGTERM, how long in-flight work may finish', '25')
    .option('--port <port>', 'HTTP port for /healthz, /readyz, /metrics', '8080')
    .option('--scenario <file>', 'with --cloud sim: the scenario to play')
    .option('--speed <x>', 'with --cloud sim: how much faster than real time the clock runs (default 30)')
    .option(
      '--coordination-table <name>',
      'DynamoDB table several replicas coordinate through (SPOTMAX_COORDINATION_TABLE)',
    )
    .option('--dry-run', 'resolve targets and log actions; change nothing, delete nothing', false)
    .option(
      '--events-bus <name>',
      "EventBridge bus (name or ARN) for spotmax's action and problem events (SPOTMAX_EVENTS_BUS; default: the account's default bus)",
    )
    .option('--no-events', 'publish no events on EventBridge')
    .action(async (opts) => setExit(await (await import('./cli/run.js')).runCommand(opts, io)));

  program
    .command('plan')
    .description('observe and diff once; change nothing')
    .addOption(
      new Option('--format <format>', 'output format').choices(['text', 'json', 'markdown']).default('text'),
    )
    .addOption(cloudOption())
    .option('--policies <dir>', 'policy folder (SPOTMAX_POLICIES)')
    .option('--region <region>', 'AWS region (AWS_REGION)')
    .option('--scenario <file>', 'with --cloud sim: the scenario whose region to plan (default: the demo)')
    .option('--at <duration>', 'with --cloud sim: how far into the scenario (90, 30m, 2h; default 0)')
    .option('--group <name>', 'only this group (a name or a glob such as web-*); repeatable', collect)
    .option(
      '--detailed-exitcode',
      'exit 0 when there are no changes, 2 when changes are pending, 1 on problems or an error',
      false,
    )
    .action(async (opts) => setExit(await (await import('./cli/plan.js')).planCommand(opts, io)));

  program
    .command('apply')
    .description('one reconcile pass that acts')
    .addOption(cloudOption())
    .option('--policies <dir>', 'policy folder (SPOTMAX_POLICIES)')
    .option('--region <region>', 'AWS region (AWS_REGION)')
    .option('--scenario <file>', 'with --cloud sim: the scenario whose region to act on (default: the demo)')
    .option('--at <duration>', 'with --cloud sim: how far into the scenario (90, 30m, 2h; default 0)')
    .option('--dry-run', 'log the actions instead of taking them', false)
    .option(
      '--events-bus <name>',
      "EventBridge bus (name or ARN) for spotmax's action and problem events (SPOTMAX_EVENTS_BUS; default: the account's default bus)",
    )
    .option('--no-events', 'publish no events on EventBridge')
    .action(async (opts) => setExit(await (await import('./cli/apply.js')).applyCommand(opts, io)));

  program
    .command('validate')
    .description('check policy files; errors as file:line:col: message')
    .argument('[paths...]', 'files or folders', [])
    .addOption(cloudOption())
    .option('--scenario <file>', "with --cloud sim: also check the scenario and its groups' policies")
    .action(async (paths: string[], opts) =>
      setExit(await (await import('./cli/validate.js')).validateCommand(paths, io, opts)),
    );

  program
    .command('import-legacy')
    .description("convert max_group's service_config.json to policy YAML")
    .argument('<file>', 'service_config.json')
    .option('-o, --out <file>', 'write the YAML here instead of stdout')
    .action(async (file: string, opts) =>
      setExit(await (await import('./cli/import-legacy.js')).importLegacyCommand(file, opts, io)),
    );

  program
    .command('simulate')
    .description('what-if run of a scenario in the simulated region')
    .requiredOption('--scenario <file>', 'scenario YAML')
    .option('--policies <dir>', 'policy folder for the spotmax strategy')
    .option(
      '--out <dir>',
      'where report.json and capacity.svg go (default: simulation-out in the working directory, or a new folder under the temporary directory when that cannot be written)',
    )
    .option('--seed <n>', 'random seed')
    .option('--duration <d>', "override the scenario's duration (seconds, or 30m, 2h)")
    .option('--csv <file>', 'also write the time series behind the chart (per strategy and slice) as CSV')
    .option(
      '--allow-policy-problems',
      'list policy problems and run anyway (the groups they touch run unmanaged) instead of refusing',
      false,
    )
    .action(async (opts) => setExit(await (await import('./cli/simulate.js')).simulateCommand(opts, io)));

  const events = program.command('events').description('work with the event queue');
  events
    .command('send')
    .description('put a correctly shaped sample event on the queue')
    .addOption(
      new Option('--type <type>', 'event type')
        .choices(['spot-interruption', 'rebalance', 'state-change'])
        .makeOptionMandatory(),
    )
    .requiredOption('--instance <id>', 'instance id, i-...')
    .option('--state <state>', 'with --type state-change', 'stopping')
    .option('--queue-url <url>', 'queue (SPOTMAX_QUEUE_URL)')
    .option('--region <region>', 'AWS region (AWS_REGION)')
    .action(async (opts) =>
      setExit(await (await import('./cli/events-send.js')).eventsSendCommand(opts, io)),
    );

  return program;
}

/**
 * The SDK's default credential chain, in its order (AWS SDK for JavaScript v3 developer guide, "Set
 * credentials in Node.js"; fromNodeProviderChain), so the operator knows where to put them.
 */
const NO_CREDENTIALS =
  'no AWS credentials found. The AWS SDK looked, in order, at: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY ' +
  '(and AWS_SESSION_TOKEN); the shared files ~/.aws/credentials and ~/.aws/config (profile AWS_PROFILE, or ' +
  'default; SSO after `aws sso login`); a web identity token (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN); ' +
  'credential_process; the ECS container role; the EC2 instance role. Set one of them, for example ' +
  'AWS_PROFILE=name, and run again.';

/**
 * A reader that goes away (`spotmax plan | head`) closes the pipe: stop quietly, as other CLIs do, instead
 * of an unhandled EPIPE with a stack trace.
 */
function quietOnClosedPipe(stream: NodeJS.WritableStream): void {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

/** Runs the CLI; returns the exit code (0 ok, 1 user error, 2 internal). */
export async function main(argv: string[], env: Env, io?: Partial<CommandIO>): Promise<number> {
  if (!io?.stdout) quietOnClosedPipe(process.stdout);
  const fullIo: CommandIO = {
    env,
    stdout: io?.stdout ?? process.stdout,
    stderr: io?.stderr ?? process.stderr,
  };
  let code = 0;
  const program = buildProgram(fullIo, (c) => {
    code = c;
  });
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here with code 0; usage errors are the user's.
      return err.exitCode === 0 ? 0 : 1;
    }
    if (err instanceof UserError) {
      fullIo.stderr.write(`spotmax: ${err.message}\n`);
      return 1;
    }
    if (isMissingCredentials(err)) {
      fullIo.stderr.write(`spotmax: ${NO_CREDENTIALS}\n`);
      return 1;
    }
    fullIo.stderr.write(`spotmax: internal error: ${describeError(err)}\n`);
    return 2;
  }
}
