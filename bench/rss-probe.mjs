// Preloaded into each bench child (`node --import`): records the process's peak RSS when it exits,
// also on the simulated crash (`process.exit(137)`), so one scenario's memory is never mixed with another's.
import { writeFileSync } from 'node:fs';

const file = process.env.BENCH_RSS_FILE;
if (file) {
  process.on('exit', () => {
    try {
      // ru_maxrss, in kilobytes (Node normalizes it across platforms).
      writeFileSync(file, String(process.resourceUsage().maxRSS));
    } catch {
      // Nothing sensible to do while exiting; the bench reports the RSS as unknown.
    }
  });
}
