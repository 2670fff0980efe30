import type { Recording } from './recording-schema.js';
import { SESSION_SCRIPTS_DIRECTORY } from './session-scripts-config.js';
import { LINUX_RECORDER, renderSessionScripts } from './session-scripts.js';

/** orgshield's tag on the images it had made: the audit counts a fleet on such an image as recording. */
export const RECORDING_IMAGE_TAG = { key: 'orgshield:session-recording', value: 'v1' } as const;

/**
 * What an administrator does on the image builder: Image Assistant has no API, so orgshield
 * says each step, with the exact paths and names, and waits for the image to be AVAILABLE.
 */
export function imageAssistantSteps(recording: Recording, target?: { account: string; region: string }): string[] {
  const { platform, imageBuilder, imageName } = recording.appstream;
  if (!imageBuilder) return [];
  const directory = SESSION_SCRIPTS_DIRECTORY[platform];
  const files = renderSessionScripts(recording).map((file) => file.name);
  const tools =
    platform === 'linux'
      ? 'Install ffmpeg (with libx264) and make sure the AWS CLI is on the PATH of root (Amazon Linux 2 images have it): sudo yum install -y ffmpeg, or a static ffmpeg build in /usr/local/bin.'
      : `Put ffmpeg.exe, ffprobe.exe and PsExec64.exe in ${directory}\\orgshield-tools, and check that the AWS Tools for PowerShell (AWSPowerShell) are installed (AppStream's Windows images have them).`;
  return [
    `${target ? `In account ${target.account}, region ${target.region}: open` : 'Open'} the AppStream console, Images > Image builder > ${imageBuilder.name} > Connect, as the Administrator (Windows) or ImageBuilderAdmin (Linux).`,
    `Copy ${files.join(' and ')} (from \`orgshield recording scripts FILE --out DIR\`) into ${directory}, replacing what is there${platform === 'linux' ? `, and run: sudo chmod 755 ${directory}/${LINUX_RECORDER}` : ''}.`,
    tools,
    `Keep the pseudonym key out of the image: the recorder reads ${recording.pseudonymKey.name} from ${recording.pseudonymKey.store === 'ssm' ? 'SSM Parameter Store' : 'Secrets Manager'} with the fleet role at each session start.`,
    `Open Image Assistant, add no application unless you need one, test as a user that the recorder starts (${platform === 'linux' ? `/var/lib/orgshield-recorder/recorder.log` : 'C:\\ProgramData\\orgshield-recorder\\recorder.log'}), and create the image named ${imageName} with the tag ${RECORDING_IMAGE_TAG.key}=${RECORDING_IMAGE_TAG.value}.`,
    `orgshield waits for image ${imageName} to be AVAILABLE, then creates the fleet on it; from then on \`orgshield recording setup\` keeps it patched with CreateUpdatedImage.`,
  ].map((step, index) => `${index + 1}. ${step}`);
}
