import type { ServiceDefinition } from '../service-definition.js';
import { appstream } from './appstream.js';
import { detective } from './detective.js';
import { drs } from './drs.js';
import { ec2 } from './ec2.js';
import { fms } from './fms.js';
import { guardduty } from './guardduty.js';
import { iam } from './iam.js';
import { kms } from './kms.js';
import { organizations } from './organizations.js';
import { s3 } from './s3.js';
import { secretsManager } from './secrets-manager.js';
import { ssm } from './ssm.js';
import { sts } from './sts.js';
import { wafv2 } from './wafv2.js';

/**
 * Every service the sandbox serves. Adding one is a file in this folder (its
 * `defineService({...})`), its model under `models/<signing name>/`, and one line here.
 */
export const serviceDefinitions: readonly ServiceDefinition[] = [organizations, sts, s3, fms, wafv2, ec2, guardduty, detective, drs, iam, kms, secretsManager, ssm, appstream];
