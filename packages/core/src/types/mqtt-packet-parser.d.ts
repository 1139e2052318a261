/**
 * mqtt-packet's parser on its own: importing the package's main module also loads its generator,
 * which builds a 65,536-entry buffer cache (about 6 MB of heap) that a broker encoding its own
 * packets never uses.
 */
declare module 'mqtt-packet/parser.js' {
  import type { Parser } from 'mqtt-packet';
  const ParserModule: { parser(options?: object): Parser };
  export default ParserModule;
}
