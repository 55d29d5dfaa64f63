// cnr against GoBGP: the shared interop assertions (bgp-suite.ts).
import { defineBgpInterop } from './bgp-suite.js';
import { GobgpPeer } from './harness/peers.js';

defineBgpInterop('igo', () => new GobgpPeer());
