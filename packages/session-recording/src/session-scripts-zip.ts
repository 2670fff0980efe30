import { crc32 } from 'node:zlib';

/**
 * A zip archive of a few small files, stored uncompressed: what an Elastic fleet's
 * SessionScriptS3Location takes. Written here rather than with a dependency because stored
 * entries are a page of the format (PKWARE APPNOTE 4.3) and the files are a few kilobytes.
 */

export interface ZipEntry {
  name: string;
  content: Buffer;
  /** Unix mode 755 instead of 644, so the recorder stays runnable once unpacked on Linux. */
  executable: boolean;
}

// 1980-01-01 00:00 in DOS time: a fixed date keeps the archive byte-identical for the same files.
const DOS_TIME = 0;
const DOS_DATE = (0 << 9) | (1 << 5) | 1;
const MADE_BY_UNIX = (3 << 8) | 20;

export function zipFiles(entries: readonly ZipEntry[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const entry of entries) {
    const name = Buffer.from(entry.name, 'utf8');
    const crc = crc32(entry.content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0800, 6); // names are UTF-8
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(entry.content.length, 18);
    local.writeUInt32LE(entry.content.length, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(0, 28);
    locals.push(local, name, entry.content);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(MADE_BY_UNIX, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(0x0800, 8);
    central.writeUInt16LE(0, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(entry.content.length, 20);
    central.writeUInt32LE(entry.content.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(((entry.executable ? 0o100755 : 0o100644) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name);
    offset += local.length + name.length + entry.content.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}


/** One file of a stored-only zip (what `zipFiles` writes), or undefined: the audit reads an Elastic fleet's zip with it. */
export function readStoredZipEntry(archive: Buffer, wanted: string): Buffer | undefined {
  let position = 0;
  while (position + 30 <= archive.length && archive.readUInt32LE(position) === 0x04034b50) {
    const method = archive.readUInt16LE(position + 8);
    const size = archive.readUInt32LE(position + 18);
    const nameLength = archive.readUInt16LE(position + 26);
    const extraLength = archive.readUInt16LE(position + 28);
    const name = archive.subarray(position + 30, position + 30 + nameLength).toString('utf8');
    const start = position + 30 + nameLength + extraLength;
    if (name === wanted) return method === 0 ? archive.subarray(start, start + size) : undefined;
    position = start + size;
  }
  return undefined;
}
