/**
 * `show bfd session [extensive]` in Junos's layout, from what the vRouter reports (the
 * sessions run there, with their counters): state, negotiated intervals, multiplier,
 * detection time, the peer's state and timers, client protocols, flaps, packets, and the
 * received packets dropped by reason. `data` carries the same facts for `| display json`.
 */
import type { PbBfdSessionState, PbListBfdSessionsReply } from '../../../api/proto.js';
import type { CommandResult, OperationalCommand } from '../../types.js';
import { formatElapsed } from '../bgp/commands.js';
import type { BfdManager } from './manager.js';

const DIAG = ['None', 'Control Detection Time Expired', 'Echo Function Failed', 'Neighbor Signaled Session Down', 'Forwarding Plane Reset', 'Path Down', 'Concatenated Path Down', 'Administratively Down', 'Reverse Concatenated Path Down'];

const sec = (us: number) => (us / 1e6).toFixed(3);

export function formatBfdSessions(r: PbListBfdSessionsReply, extensive: boolean, now = Date.now()): string {
  const lines = ['                                                  Detect   Transmit', 'Address                  State     Interface      Time     Interval  Multiplier'];
  const clients = new Set<string>();
  let txRate = 0;
  let rxRate = 0;
  for (const s of r.sessions) {
    for (const c of s.clients) clients.add(`${c} ${s.peer}`);
    if (s.state === 'Up') {
      if (s.txIntervalUs) txRate += 1e6 / s.txIntervalUs;
      if (s.rxIntervalUs) rxRate += 1e6 / s.rxIntervalUs;
    }
    const ifname = s.multihop ? '' : s.resolvedInterface || s.interface;
    lines.push(`${s.peer.padEnd(24)} ${(s.state || 'Failed').padEnd(9)} ${ifname.padEnd(14)} ${sec(s.detectionTimeUs).padStart(5)}    ${sec(s.txIntervalUs).padStart(6)}  ${String(s.detectMult).padStart(6)}`);
    if (extensive) lines.push(...extensiveLines(s, now));
  }
  lines.push('');
  lines.push(`${r.sessions.length} sessions, ${clients.size} clients`);
  lines.push(`Cumulative transmit rate ${txRate.toFixed(1)} pps, cumulative receive rate ${rxRate.toFixed(1)} pps`);
  if (extensive && r.discards.length) lines.push(`Received packets dropped: ${r.discards.map((d) => `${d.reason} ${d.count}`).join(', ')}`);
  return `${lines.join('\n')}\n`;
}

function extensiveLines(s: PbBfdSessionState, now: number): string[] {
  const out = [
    ` Client ${s.clients.map((c) => c.toUpperCase()).join(', ') || 'none'}, TX interval ${sec(s.txIntervalUs)}, RX interval ${sec(s.rxIntervalUs)}`,
  ];
  if (s.error) out.push(` Not running: ${s.error}`);
  if (s.state === 'Up') out.push(` Session up time ${formatElapsed(s.upForMs)}`);
  else if (s.changedAtMs) out.push(` Session down for ${formatElapsed(now - s.changedAtMs)}`);
  out.push(
    ` Last state change: ${s.changedAtMs ? new Date(s.changedAtMs).toISOString() : 'never'} (${s.cause || '-'}), flaps ${s.flaps}`,
    ` Local diagnostic ${DIAG[s.localDiag] ?? s.localDiag}, remote diagnostic ${DIAG[s.remoteDiag] ?? s.remoteDiag}`,
    ` Remote state ${s.remoteState || '-'}, version 1`,
    ` Session type: ${s.multihop ? 'Multi hop BFD' : 'Single hop BFD'}, local address ${s.resolvedLocal || s.local || '-'}, source port ${s.sourcePort}`,
    ` Min async interval ${sec(Math.max(s.desiredMinTxUs, s.requiredMinRxUs))}, min slow interval 1.000`,
    ` Local min TX interval ${sec(s.desiredMinTxUs)}, minimum RX interval ${sec(s.requiredMinRxUs)}, multiplier ${s.detectMult}`,
    ` Remote min TX interval ${sec(s.remoteMinTxUs)}, min RX interval ${sec(s.remoteMinRxUs)}, multiplier ${s.remoteDetectMult}`,
    ` Local discriminator ${s.localDiscr}, remote discriminator ${s.remoteDiscr}`,
    ` Packets sent ${s.txPackets}, received ${s.rxPackets}, dropped ${s.discarded}`,
    ` Control plane independent: local yes, remote ${s.remoteControlPlaneIndependent ? 'yes' : 'no'}`,
    ` Authentication ${s.authentication ? `${s.authentication.replace(/ key /, ', key id ')}` : 'none'}`,
    ' Echo mode disabled/inactive',
    '',
  );
  return out;
}

export function bfdCommands(bfd: BfdManager): OperationalCommand[] {
  return [
    {
      path: ['show', 'bfd', 'session'],
      help: 'BFD sessions run by the vRouter: show bfd session [extensive] [address ADDR]',
      async run(args: string[]): Promise<CommandResult> {
        const extensive = args.includes('extensive') || args.includes('detail');
        const at = args.indexOf('address');
        const only = at >= 0 ? args[at + 1] : undefined;
        const r = await bfd.list();
        const shown = only ? { ...r, sessions: r.sessions.filter((s) => s.peer === only) } : r;
        return { text: formatBfdSessions(shown, extensive), data: shown };
      },
    },
  ];
}
