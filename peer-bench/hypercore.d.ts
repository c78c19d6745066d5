/** The part of hypercore 11's API the peers suite uses (the package ships no type declarations). */
declare module 'hypercore' {
  export default class Hypercore {
    constructor(storage: string);
    readonly length: number;
    ready(): Promise<void>;
    append(blocks: Uint8Array | Uint8Array[]): Promise<{ length: number; byteLength: number }>;
    get(index: number): Promise<Buffer | null>;
    close(): Promise<void>;
  }
}
