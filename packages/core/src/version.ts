/** The broker's version, as `$SYS/<id>/version` and the CLI report it. */
export const VERSION = '0.1.0';
