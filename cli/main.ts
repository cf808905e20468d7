import '../local/polyfills.ts';
import { parseArgs } from 'node:util';
import { didYouMean, escapeControl } from '#core/source/index.ts';

/**
 * `goal-sync <command> [flags]`. Each command lives in ./commands/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code) and `usage: string`.
 */
const COMMANDS = ['local', 'sim', 'sample', 'validate', 'start', 'status', 'resume', 'connect'] as const;
type Command = (typeof COMMANDS)[number];

const HELP = `goal-sync: sync performance goals into Oracle HCM Cloud

  goal-sync local   [--goals N] [--chunk-size K] [--concurrency C] [--token-ttl S] [--run-id ID] ...
                    run the whole pipeline on the embedded default (no AWS account)
  goal-sync sim     [--idp-port P] [--hcm-port P] [--token-ttl S]   start the IdP + HCM simulators
  goal-sync sample  --goals N [--invalid-rate R] [--seed S] [--out FILE]   write sample goals (JSONL)
  goal-sync validate FILE [--max-invalid N|P%]   check a goal file against the schema (no HCM)
  goal-sync start|status|resume|connect --stack NAME ...   talk to a deployed stack

Run 'goal-sync <command> --help' for a command's flags, examples and exit codes. Every command
takes --json. Exit codes: 0 ok, 1 failure, 2 bad arguments, 3 needs re-auth, 4 input rejected,
130 interrupted.`;

async function main(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv.slice(0, 1), allowPositionals: true, strict: false });
  const name = positionals[0];
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(HELP);
    return name ? 0 : 2;
  }
  if (!(COMMANDS as readonly string[]).includes(name)) {
    const shown = escapeControl(name);
    console.error(
      `goal-sync: unknown command '${shown}'${didYouMean(name, COMMANDS)}; commands: ${COMMANDS.join(', ')} (goal-sync --help)`,
    );
    return 2;
  }
  if (name === 'local' || name === 'sim' || name === 'sample' || name === 'validate') {
    // Laptop commands talk to dynalite only; the SDK's Node 22 notice is about AWS endpoints.
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  }
  const mod = (await import(`./commands/${name as Command}.ts`)) as {
    run: (args: string[]) => Promise<number>;
  };
  return mod.run(argv.slice(1));
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    process.exitCode = 1;
  },
);
