export { storeContract, takeQueue, type StoreContractOptions } from './store-contract.js';
export { emitterContract, onFirstClose } from './emitter-contract.js';
export { waitFor, sleep } from './wait.js';
export { allBytes, bigPayload, message, v5Message, v5Properties, V5_EXPIRES_AT } from './fixtures.js';
