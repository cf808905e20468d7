import '../local/polyfills.ts';
import { readFileSync } from 'node:fs';
import { didYouMean, escapeControl } from '#core/source/index.ts';

/**
 * `goal-sync <command> [flags]`. Each command lives in ./commands/<name>.ts and exports
 * `run(argv: string[]): Promise<number>` (the exit code) and `usage: string`.
 */
const COMMANDS = [
  'local',
  'sim',
  'sample',
  'validate',
  'preflight',
  'start',
  'status',
  'resume',
  'connect',
  'twins',
] as const;
type Command = (typeof COMMANDS)[number];

const HELP = `goal-sync: sync performance goals into Oracle HCM Cloud

  goal-sync local   [--goals N] [--chunk-size K] [--concurrency C] [--token-ttl S] [--run-id ID] ...
                    run the whole pipeline on the embedded default (no AWS account)
  goal-sync sim     [--idp-port P] [--hcm-port P] [--token-ttl S]   start the IdP + HCM simulators
  goal-sync sample  --goals N [--invalid-rate R] [--seed S] [--out FILE]   write sample goals (JSONL)
  goal-sync validate FILE [--max-invalid N|P%]   check a goal file against the schema (no HCM)
  goal-sync preflight (--stack NAME | --idp-url U --hcm-url U) --source FILE   check a pod before the first run
  goal-sync start|status|resume|connect --stack NAME ...   talk to a deployed stack
  goal-sync twins --stack NAME --run-id ID [--remove ...]   list (or remove) twins a run reported

Run 'goal-sync <command> --help' (or 'goal-sync help <command>') for a command's flags, examples
and exit codes. Every command takes --json. 'goal-sync --version' prints the version.
Exit codes: 0 ok, 1 failure, 2 bad arguments, 3 needs re-auth, 4 input rejected, 130 interrupted.`;

const HELP_WORDS = new Set(['--help', '-h', 'help']);

/** package.json's version: the one thing `--version` promises. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return pkg.version;
}

async function main(argv: string[]): Promise<number> {
  const first = argv[0];
  if (first === '--version' || first === '-V' || first === '-v' || first === 'version') {
    console.log(`goal-sync ${version()}`);
    return 0;
  }
  // `goal-sync help local` is `goal-sync local --help`; so is `goal-sync local help`.
  if (first === 'help' && argv[1] !== undefined) return main([argv[1], '--help']);
  if (first !== undefined && argv.length === 2 && argv[1] === 'help') return main([first, '--help']);
  const name = first;
  if (name === undefined || HELP_WORDS.has(name)) {
    // Asked for: exit 0; a bare `goal-sync` is a command line without a command: exit 2.
    (name ? console.log : console.error)(HELP);
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

// `goal-sync validate big.csv | head`: the reader went away; stop quietly, as cat and grep do.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exit(process.exitCode ?? 0);
  });
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
