/**
 * A small line editor for a remote terminal (the SSH CLI's pty): the client's terminal is in
 * raw mode, so this side echoes what is typed and gives the keys their meaning, as a
 * router's CLI does: Backspace, Ctrl-U (erase the line), Ctrl-W (erase a word), Ctrl-C
 * (abandon the line), Ctrl-D (leave, on an empty line), Tab (complete), `?` (what may come
 * next, at once, outside quotes), Up/Down (history). Typed-ahead input waits while a command
 * runs and is echoed after its output, so scripted clients (netmiko) that send lines without
 * waiting read a sensible transcript. Not Node's readline: its redrawing escape sequences
 * are meant for a local TTY and garble screen-scraping clients.
 */

export interface LineHandlers {
  /** (completions, the partial word they complete), as readline's completer */
  complete(line: string): [string[], string];
  /** the `?` help for a line ending in `?` */
  help(line: string): string;
  /** what to print before reading a line (`[edit]` and the prompt) */
  prompt(): string;
  /** a whole line was entered; false ends the session */
  line(text: string): Promise<boolean>;
  /** Ctrl-D on an empty line */
  eof(): void;
}

const HISTORY = 100;
/** ESC [ params final, ESC O final, or ESC and one other character */
const ESCAPE_SEQUENCE = new RegExp(`^${String.fromCharCode(27)}(?:\\[[0-9;]*[@-~]|O[@-~]|[^[O])`);

function commonPrefix(words: string[]): string {
  let p = words[0] ?? '';
  for (const w of words) while (!w.startsWith(p)) p = p.slice(0, -1);
  return p;
}

/** Whether `text` ends inside an open double quote. */
function inQuote(text: string): boolean {
  let open = false;
  for (let i = 0; i < text.length; i++) {
    if (text[i] === '\\') i++;
    else if (text[i] === '"') open = !open;
  }
  return open;
}

export class LineEditor {
  private buf = '';
  private pending = '';
  private busy = false;
  private ended = false;
  private lastWasCr = false;
  private readonly history: string[] = [];
  private historyAt = 0;

  constructor(
    private readonly write: (s: string) => void,
    private readonly h: LineHandlers,
  ) {}

  start(): void {
    this.write(this.h.prompt());
  }

  /** Bytes the client typed (or pasted, or a script sent). */
  feed(data: string): void {
    this.pending += data;
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.pending.length && !this.ended) {
        const ch = this.pending[0]!;
        if (ch === '\x1b') {
          // an escape sequence: ESC [ params final, or ESC O final; an unfinished one waits
          const m = ESCAPE_SEQUENCE.exec(this.pending);
          if (!m) {
            if (this.pending.length < 8) break;
            this.pending = this.pending.slice(1);
            continue;
          }
          this.pending = this.pending.slice(m[0].length);
          this.escape(m[0]);
          continue;
        }
        this.pending = this.pending.slice(1);
        const cr = this.lastWasCr;
        this.lastWasCr = ch === '\r';
        if (ch === '\n' && cr) continue; // CR LF is one Enter
        if (ch === '\r' || ch === '\n') await this.enter();
        else this.key(ch);
      }
    } finally {
      this.busy = false;
    }
  }

  private async enter(): Promise<void> {
    const text = this.buf;
    this.buf = '';
    this.write('\r\n');
    if (text.trim()) {
      this.history.push(text);
      if (this.history.length > HISTORY) this.history.shift();
    }
    this.historyAt = this.history.length;
    if (!(await this.h.line(text))) {
      this.ended = true;
      return;
    }
    this.write(this.h.prompt());
  }

  private key(ch: string): void {
    switch (ch) {
      case '\x7f':
      case '\b':
        if (this.buf) {
          this.buf = this.buf.slice(0, -1);
          this.write('\b \b');
        }
        return;
      case '\x15': // Ctrl-U
        this.replace('');
        return;
      case '\x17': {
        // Ctrl-W: the word before the cursor and the blanks after it
        this.replace(this.buf.replace(/\S+\s*$/, ''));
        return;
      }
      case '\x03': // Ctrl-C
        this.buf = '';
        this.write('^C\r\n');
        this.write(this.h.prompt());
        return;
      case '\x04': // Ctrl-D
        if (this.buf === '') {
          this.ended = true;
          this.write('\r\n');
          this.h.eof();
        }
        return;
      case '\t':
        this.tab();
        return;
      case '?':
        if (!inQuote(this.buf)) {
          this.write('?\r\n');
          this.write(this.h.help(`${this.buf}?`));
          this.write(this.h.prompt() + this.buf);
          return;
        }
        break;
    }
    if (ch < ' ') return; // other control keys mean nothing here
    this.buf += ch;
    this.write(ch);
  }

  private tab(): void {
    const [hits, partial] = this.h.complete(this.buf);
    if (hits.length === 0) return;
    const prefix = hits.length === 1 ? hits[0]! : commonPrefix(hits);
    if (prefix.length > partial.length) {
      const add = prefix.slice(partial.length);
      this.buf += add;
      this.write(add);
      return;
    }
    if (hits.length > 1) this.write(`\r\n${hits.join('  ')}\r\n${this.h.prompt()}${this.buf}`);
  }

  private escape(seq: string): void {
    if (seq === '\x1b[A' || seq === '\x1bOA') {
      if (this.historyAt > 0) this.replace(this.history[--this.historyAt]!);
    } else if (seq === '\x1b[B' || seq === '\x1bOB') {
      if (this.historyAt < this.history.length) {
        this.historyAt++;
        this.replace(this.history[this.historyAt] ?? '');
      }
    }
    // cursor movement within the line is not supported: the line is edited at its end
  }

  /** The line becomes `text`: erase what is shown, show the new one. */
  private replace(text: string): void {
    this.write('\b \b'.repeat(this.buf.length) + text);
    this.buf = text;
  }
}
