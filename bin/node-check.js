// The Node the CLI needs, checked before anything is loaded: package.json `engines` is the one source.
// (Plain JavaScript: it must run on any Node, before tsx and the dependencies that need a newer one.)
import { readFileSync } from 'node:fs';

/** What to tell a person running an older Node, or undefined when `version` satisfies `range` (">=X.Y"). */
export function nodeVersionProblem(version, range) {
  const min = /^>=\s*(\d+)\.(\d+)/.exec(range);
  if (!min) return undefined;
  const [major, minor] = version.replace(/^v/, '').split('.').map(Number);
  const [needMajor, needMinor] = [Number(min[1]), Number(min[2])];
  if (major > needMajor || (major === needMajor && minor >= needMinor)) return undefined;
  return (
    `goal-sync needs Node ${needMajor}.${needMinor} or later; this is Node ${version.replace(/^v/, '')}. ` +
    'Use npx goal-sync (or npm start): on Linux x64, npm ci installed Node 24, the Lambda runtime, into ' +
    'node_modules and they run on it. Elsewhere, install Node 24.'
  );
}

export function enginesNode() {
  const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
  return pkg.engines?.node ?? '';
}
