// Node's crypto in the browser bundle: only bittorrent-protocol's peer-wire
// encryption (Diffie-Hellman) uses it, and WebTorrent never encrypts in a browser.
export default {}
