/** What to tell a person running an older Node, or undefined when `version` satisfies `range` (">=X.Y"). */
export function nodeVersionProblem(version: string, range: string): string | undefined;
/** package.json `engines.node`. */
export function enginesNode(): string;
