import { httpStatusForCode } from '@opsdesk/contracts';

// the document itself is built in libs/contracts (problem.ts): the services' internal routes answer with it too
export { problem, type Problem } from '@opsdesk/contracts';

/** The HTTP status for an error code: the one table in libs/contracts (http-status.ts). */
export const statusForCode = httpStatusForCode;

