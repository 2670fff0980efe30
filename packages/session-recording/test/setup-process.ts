/**
 * A setup worker in its own process, for the crash test: it sets up one target of the recording
 * file and waits long, so the test can kill it (SIGKILL) at the moment it picks.
 */
import { readFileSync } from 'node:fs';
import { MemberCredentials } from '@orgshield/accounts';
import { AwsClientFactory } from '@orgshield/aws';
import { parseRecordingSource } from '../src/recording-loader.js';
import { setupTarget } from '../src/recording-setup.js';

const [file, account, region, management] = process.argv.slice(2) as [string, string, string, string];
const { recording } = parseRecordingSource({ file, text: readFileSync(file, 'utf8') });
const clients = new AwsClientFactory({ region });
const members = new MemberCredentials(clients, { managementAccountId: management });
await setupTarget({ clients, recording, targetFor: (id, r) => members.target(id, r), wait: { pollMs: 50, timeoutMs: 600_000 } }, { account, region }, { dryRun: false });
clients.destroy();
