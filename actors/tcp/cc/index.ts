// The congestion controllers by name and by the CcAlgo word stored in a TCB.

import { CcAlgo } from '../layout';
import { Cubic } from './cubic';
import { NewReno } from './newreno';
import type { CongestionController } from './types';

export type CongestionName = 'cubic' | 'newreno';

export function ccByAlgo(a: number): CongestionController {
  return a === CcAlgo.NewReno ? NewReno : Cubic;
}

export function ccByName(n: CongestionName): CongestionController {
  return n === 'newreno' ? NewReno : Cubic;
}

export type { CongestionController } from './types';
