// The frame contract as the core sends it with its default limits: written
// by the Go test TestFrameContract_File (go test ./core -run Contract
// -update), never by hand.
import { readFileSync } from 'node:fs';
import { contract } from '../src/shape.js';

export const limits = JSON.parse(readFileSync(new URL('../../testdata/messages/contract.json', import.meta.url)));
export const c = contract(limits);
