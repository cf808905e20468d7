#!/usr/bin/env node
import { enginesNode, nodeVersionProblem } from './node-check.js';

const problem = nodeVersionProblem(process.version, enginesNode());
if (problem) {
  console.error(problem);
  process.exit(2);
}
const { register } = await import('tsx/esm/api');
register();
await import('../cli/main.ts');
