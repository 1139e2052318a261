import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Temporary directories, removed together at the end of a test file (`after(() => dirs.removeAll())`). */
export class TempDirs {
  private readonly made: string[] = [];

  /** `prefix` names the directories `make()` and `path()` create when they are given none. */
  constructor(private readonly prefix = 'skynet-test-') {}

  /** A new, empty directory under the OS temp dir. */
  async make(prefix = this.prefix): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), prefix));
    this.made.push(dir);
    return dir;
  }

  /** `<new temp dir>/<name>`: a path that does not exist yet (for code that must create it itself). */
  async path(name: string, prefix = this.prefix): Promise<string> {
    return join(await this.make(prefix), name);
  }

  async removeAll(): Promise<void> {
    for (const dir of this.made.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}
