// cnr against BIRD 2: the shared interop assertions (bgp-suite.ts).
import { defineBgpInterop } from './bgp-suite.js';
import { BirdPeer } from './harness/peers.js';

defineBgpInterop('ibd', () => new BirdPeer());
