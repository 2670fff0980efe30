export { EXIT_CODES } from './exit-codes.js';
export type { ErrorExitCode, ExitCode } from './exit-codes.js';
export { InvalidInputError, OrgshieldError, isShapedLikeOrgshieldError } from './orgshield-error.js';
export { htmlText, markdownText, printable } from './display-text.js';
