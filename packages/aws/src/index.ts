export { OrgshieldError, InvalidInputError } from './errors.js';
