// What `upman agent register` reports about this PC: its name, an IP address and the OS's own
// registration id (the installation's machine id), each overridable by a flag.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { hostname, networkInterfaces } from 'node:os';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function hostName(): string {
  return hostname();
}

/** The first non-internal IPv4 address (then IPv6); loopback when the PC has no network. */
export function primaryAddress(): string {
  const all = Object.values(networkInterfaces()).flatMap((list) => list ?? []);
  const external = all.filter((a) => !a.internal);
  return (external.find((a) => a.family === 'IPv4') ?? external[0])?.address ?? '127.0.0.1';
}

/**
 * The OS registration id: /etc/machine-id on Linux, MachineGuid on Windows, the platform UUID
 * on macOS. Undefined when it cannot be read (the user passes --os-registration-id).
 */
export async function osRegistrationId(
  platform: NodeJS.Platform = process.platform,
): Promise<string | undefined> {
  try {
    if (platform === 'win32') {
      const { stdout } = await run('reg', [
        'query',
        'HKLM\\SOFTWARE\\Microsoft\\Cryptography',
        '/v',
        'MachineGuid',
      ]);
      return /MachineGuid\s+REG_SZ\s+(\S+)/.exec(stdout)?.[1];
    }
    if (platform === 'darwin') {
      const { stdout } = await run('ioreg', ['-rd1', '-c', 'IOPlatformExpertDevice']);
      return /"IOPlatformUUID" = "([^"]+)"/.exec(stdout)?.[1];
    }
    for (const file of ['/etc/machine-id', '/var/lib/dbus/machine-id']) {
      const id = (await readFile(file, 'utf8').catch(() => '')).trim();
      if (id) return id;
    }
  } catch {
    // fall through: the caller asks for the flag
  }
  return undefined;
}
