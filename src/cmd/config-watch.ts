/**
 * The configuration file as the operator's intent (`cnr start|controller --config FILE`, a
 * Kubernetes ConfigMap): loaded at start and again whenever it changes, each time as a
 * commit of its own (`by system`, comment `config file PATH`, the difference logged, secrets
 * hidden), replacing what the file owns and keeping the rest (config/file-owner.ts). What it
 * owned is kept in <stateDir>/config-file.json so that a statement taken out of the file
 * leaves the router too, across restarts.
 *
 * Change detection: fs.watch on the file's directory and on its target's (a ConfigMap update
 * swaps the `..data` symlink of the mounted directory: the file itself never changes, so a
 * watch on it would miss the update), debounced, plus a slow poll for file systems without
 * notification; a load compares the content with the last one read and does nothing when it
 * is the same. A file that does not parse or is refused at commit keeps the running
 * configuration and logs the line and reason (at start it fails the start, as a refused
 * startup configuration does); a lock someone holds postpones the load until it is released.
 */
import { watch, type FSWatcher } from 'node:fs';
import { readFile, realpath, writeFile, rename } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { ConfigStore } from '../controller/config/store.js';
import type { ConfigTree } from '../controller/types.js';
import { detectNotation, parseConfig } from '../controller/config/notation.js';
import { compareTrees } from '../controller/config/compare.js';
import { mergeFileConfig, ownedUnits, type OwnedUnit } from '../controller/config/file-owner.js';
import { LockedError, type LockHolder } from '../controller/config/locks.js';
import { hideSecrets } from '../controller/mgmt/secrets.js';
import { isDeepStrictEqual } from 'node:util';

export interface ConfigWatchOptions {
  store: ConfigStore;
  path: string;
  stateDir: string;
  log: (msg: string) => void;
  /** quiet time after the last change event before loading (default 500 ms) */
  debounceMs?: number;
  /** the safety-net poll (default 10 s) */
  pollMs?: number;
}

interface Owned {
  path: string;
  units: OwnedUnit[];
}

export class ConfigFileWatch implements LockHolder {
  readonly lockSessionId = 0;
  private lastText: string | undefined;
  private watchers: FSWatcher[] = [];
  private watchedDirs: string[] = [];
  private timer: NodeJS.Timeout | undefined;
  private poll: NodeJS.Timeout | undefined;
  private loading: Promise<void> = Promise.resolve();
  private stopped = false;

  constructor(private readonly o: ConfigWatchOptions) {}

  get lockName(): string {
    return `the configuration file ${this.o.path}`;
  }

  private get ownedFile(): string {
    return join(this.o.stateDir, 'config-file.json');
  }

  /** Loads the file (a refused file throws: the start fails), then watches it. */
  async start(): Promise<void> {
    const result = await this.load();
    if (result !== undefined) throw new Error(`config file ${this.o.path}: ${result}`);
    await this.rewatch();
    this.poll = setInterval(() => this.changed(), this.o.pollMs ?? 10_000);
    this.poll.unref();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.poll) clearInterval(this.poll);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }

  /** Resolves when the loads asked for so far are done (tests). */
  settled(): Promise<void> {
    return this.loading;
  }

  /** Something in a watched directory changed: load after the debounce. */
  private changed(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.loading = this.loading.then(async () => {
        if (this.stopped) return;
        await this.load();
        // a change that came between the read and a watch on a new target directory: read again
        if (await this.rewatch()) await this.load();
      });
    }, this.o.debounceMs ?? 500);
    this.timer.unref();
  }

  /** Watch the file's directory and its target's (which a symlink swap may have moved). */
  /** true when the watched directories changed */
  private async rewatch(): Promise<boolean> {
    const dirs = [dirname(this.o.path)];
    try {
      const real = dirname(await realpath(this.o.path));
      if (!dirs.includes(real)) dirs.push(real);
    } catch {
      // the file is gone for now: its directory's events say when it is back
    }
    if (isDeepStrictEqual(dirs, this.watchedDirs) || this.stopped) return false;
    for (const w of this.watchers) w.close();
    this.watchers = [];
    for (const d of dirs) {
      try {
        const w = watch(d, { persistent: false }, () => this.changed());
        w.on('error', () => {});
        this.watchers.push(w);
      } catch (e) {
        this.o.log(`config file ${this.o.path}: cannot watch ${d} (${(e as Error).message}); polling only`);
      }
    }
    this.watchedDirs = dirs;
    return true;
  }

  private async readOwned(): Promise<OwnedUnit[]> {
    try {
      const o = JSON.parse(await readFile(this.ownedFile, 'utf8')) as Owned;
      return o.path === this.o.path && Array.isArray(o.units) ? o.units : [];
    } catch {
      return [];
    }
  }

  private async writeOwned(units: OwnedUnit[]): Promise<void> {
    const tmp = `${this.ownedFile}.tmp`;
    await writeFile(tmp, `${JSON.stringify({ path: this.o.path, units } satisfies Owned)}\n`, { mode: 0o600 });
    await rename(tmp, this.ownedFile);
  }

  /** One load; returns the reason when the file is refused (and logs it), else undefined. */
  private async load(): Promise<string | undefined> {
    const { store, path, log } = this.o;
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (e) {
      if (this.lastText === undefined) return (e as Error).message;
      log(`config file ${path}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); the running configuration stays`);
      return undefined;
    }
    if (text === this.lastText) return undefined;
    const refuse = (reason: string): string => {
      this.lastText = text; // the same content is not tried again; the next change is
      log(`config file ${path} refused: ${reason.replace(/\n/g, '; ')}; the running configuration stays`);
      return reason;
    };
    let file: ConfigTree;
    try {
      file = parseConfig(text, detectNotation(text, path));
    } catch (e) {
      return refuse((e as Error).message);
    }
    const previous = await this.readOwned();
    try {
      // a lock binds the file too, as it binds every user: try again once it is released
      store.locks.mayChange(this, 'candidate', 'running');
    } catch (e) {
      if (!(e instanceof LockedError)) throw e;
      log(`config file ${path} changed; waiting: ${e.message}`);
      setTimeout(() => this.changed(), 2000).unref();
      return undefined;
    }
    try {
      // merged in the commit's own turn: a CNI commit just before is kept, not overwritten
      const r = await store.commitChange((running) => mergeFileConfig(running, file, previous), { user: 'system', via: 'config-file', comment: `config file ${path}` });
      this.lastText = text;
      await this.writeOwned(ownedUnits(file));
      if (r) log(`config file ${path}: loaded as commit ${r.seq}; changes:\n${compareTrees(hideSecrets(r.before), hideSecrets(r.after)).trimEnd()}`);
      return undefined;
    } catch (e) {
      return refuse((e as Error).message);
    }
  }
}
