// A short run of the fault campaign (bench/campaign.ts) in the suite, so the script keeps
// working and its guarantees keep holding: random throw/exit/terminate/hang/oom faults and
// corrupt ring records across every actor while checked TCP and UDP traffic flows, against
// another Stack and (as root) against Linux over TAP. The full runs (10,000 faults) are in
// docs/benchmarks.md; this one asserts the same properties on 30 faults.

import { expect } from 'chai';
import { campaign } from '../../bench/campaign';
import { tapTestsSkipReason } from '../nic/netns';

type Report = Record<string, unknown> & {
  restarts: number;
  undetectedHangs: number;
  tcpConnectionsLost: number;
  corruptedBytesDelivered: number;
  tcpMissingBytes: number;
  tcpStreamsStalled: number;
  faultsInjected: number;
  faultsPlanned: number;
  stopProblems: string[];
  exitsSeen: number;
  traffic: Array<{ peer: string; stackToPeer: Record<string, number>; peerToStack: Record<string, number> }>;
};

/** Runs the checks; on a failure prints the whole report (stall dumps, unasked exits) first. */
function check(r: Report, peers: number): void {
  try {
    checks(r, peers);
  } catch (e) {
    console.log(JSON.stringify(r, null, 1).slice(0, 60_000)); // eslint-disable-line no-console
    throw e;
  }
}

function checks(r: Report, peers: number): void {
  expect(r.stopProblems, 'stacks stopped at the end').to.deep.equal([]);
  expect(r.faultsInjected, 'faults injected within the budget').to.equal(r.faultsPlanned);
  expect(r.tcpStreamsStalled, 'TCP streams stalled').to.equal(0);
  expect(r.corruptedBytesDelivered, 'corrupted bytes delivered').to.equal(0);
  expect(r.tcpConnectionsLost, 'TCP connections lost').to.equal(0);
  expect(r.tcpMissingBytes, 'TCP bytes missing').to.equal(0);
  expect(r.undetectedHangs, 'undetected hangs').to.equal(0);
  expect(r.restarts, 'restarts').to.be.greaterThan(5);
  expect(r.traffic).to.have.length(peers);
  for (const t of r.traffic) {
    for (const dir of [t.stackToPeer, t.peerToStack]) {
      expect(dir.tcpStreamsEnded, `${t.peer}: streams ended`).to.equal(2);
      expect(dir.tcpBytesSent, `${t.peer}: bytes sent`).to.be.greaterThan(0);
      expect(dir.tcpBytesCheckedAtPeer, `${t.peer}: bytes checked`).to.equal(dir.tcpBytesSent);
      expect(dir.udpIntactBack, `${t.peer}: datagrams back intact`).to.be.greaterThan(0);
    }
  }
}

// Every wait in the campaign is bounded (a fault budget, then 30 s steps to wind down), so a
// stalled connection fails a check with the stacks' connection dumps instead of a timeout.
const BUDGET_S = 60;
const TIMEOUT_MS = 240_000;

/** Runs a campaign; if it is still running shortly before the test's timeout (or throws),
 *  prints its last steps, so a failure says where it stood. */
async function runCampaign(args: Omit<Parameters<typeof campaign>[0], 'progress'>): Promise<Report> {
  const progress: string[] = [];
  const watchdog = setTimeout(() => console.log(`      campaign still running; its last steps:\n        ${progress.join('\n        ')}`), TIMEOUT_MS - 15_000); // eslint-disable-line no-console
  try {
    return (await campaign({ ...args, progress })) as Report;
  } catch (e) {
    console.log(`      campaign failed; its last steps:\n        ${progress.join('\n        ')}`); // eslint-disable-line no-console
    throw e;
  } finally {
    clearTimeout(watchdog);
  }
}

describe('acceptance: the fault campaign, short', function () {
  this.timeout(TIMEOUT_MS);

  it('30 faults across two Stacks: nothing corrupted, no connection lost, every hang detected', async () => {
    const r = await runCampaign({ faults: 30, seed: 5, peer: 'stack', streams: 2, tcpMbps: 0, budgetS: BUDGET_S });
    check(r, 1);
  });

  it('300 ring-corruption faults applied in transit (bad lengths, flipped bits): every one caught, none delivered', async () => {
    const r = (await runCampaign({ faults: 300, seed: 7, peer: 'stack', streams: 2, tcpMbps: 0, budgetS: BUDGET_S, kinds: ['corrupt-length', 'corrupt-payload'] })) as Report & {
      ringFaultsApplied: number;
      ringFaultsNotApplied: number;
      ringCorruptRecordsDetected: number;
      byKind: Record<string, number>;
    };
    expect(r.ringFaultsApplied + r.ringFaultsNotApplied).to.equal(300);
    expect(r.ringFaultsApplied, 'ring faults applied (rings with traffic)').to.be.greaterThan(280);
    // Each bad length makes a reader reject its record (a restart in between may drop it first).
    expect(r.ringCorruptRecordsDetected).to.be.within(1, r.byKind['corrupt-length']);
    expect(r.corruptedBytesDelivered, 'corrupted bytes delivered').to.equal(0);
    expect(r.tcpConnectionsLost).to.equal(0);
    expect(r.tcpStreamsStalled).to.equal(0);
    expect(r.stopProblems).to.deep.equal([]);
    expect(r.tcpMissingBytes).to.equal(0);
    for (const t of r.traffic) for (const dir of [t.stackToPeer, t.peerToStack]) expect(dir.tcpBytesCheckedAtPeer).to.equal(dir.tcpBytesSent);
  });

  it('30 faults with a Stack and Linux over TAP at once (root)', async function () {
    const skip = tapTestsSkipReason();
    if (skip) {
      console.log(`      skipped: ${skip}`); // eslint-disable-line no-console
      this.skip();
    }
    const r = await runCampaign({ faults: 30, seed: 6, peer: 'both', streams: 2, tcpMbps: 0, budgetS: BUDGET_S });
    check(r, 2);
  });
});
