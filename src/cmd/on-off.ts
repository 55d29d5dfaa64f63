/** An on|off option's value; anything else is refused with the option's name (and the usage, when given). */
export function onOff(option: string, v: string, usage?: string): boolean {
  if (v === 'on') return true;
  if (v === 'off') return false;
  throw new Error(`${option} ${v}: expected on or off${usage ? `\n${usage}` : ''}`);
}
