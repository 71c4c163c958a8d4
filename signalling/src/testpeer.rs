//! A real WebRTC test client (webrtc-rs) for the SFU's and the call layer's tests. Enabled by
//! the `testpeer` cargo feature of confab-signalling; not part of the server.
